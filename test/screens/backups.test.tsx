import { KEY, cleanup, colourCodes, flat, renderApp, withNoColor, type Ui } from '../ui/harness.js';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { AicoError } from '../../src/engine/errors.js';
import { FakeEngine, HOME, OUT, SETTINGS, backupEntry } from '../ui/fake-engine.js';

afterEach(cleanup);

const when = (i: number) => backupEntry(i).created!.replace('T', ' ').slice(0, 19);
const marked = (frame: string) => frame.split('\n').filter((l) => l.startsWith('>'));
const rows = (frame: string) => frame.split('\n').filter((l) => /^[> ] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(l));

/** Waits until the ">" marker is on backup i (and only there). */
const markerOn = (ui: Ui, i: number) => ui.waitFor((f) => marked(f).length === 1 && marked(f)[0]!.includes(when(i)), 3000);

function withBackups(n: number): FakeEngine {
  const fake = new FakeEngine();
  fake.backups = Array.from({ length: n }, (_, i) => backupEntry(i));
  return fake;
}

describe('backups screen', () => {
  test('o switches between the configured stores (directory, bucket): the header says which, every screen works on it', async () => {
    const fake = withBackups(2);
    const bucket = 's3://backups/aico';
    fake.backupsIn.set(bucket, [{ ...backupEntry(5), path: `${bucket}/x.tar.zst.enc` }]);
    const ui = renderApp(fake, { settings: { ...SETTINGS, stores: [OUT, bucket] } });
    let f = await ui.waitFor(/Backups in \/home\/ana\/backups \(2\)/);
    assert.match(f, /Store 1 of 2 \(o: next\): \[\/home\/ana\/backups\]  s3:\/\/backups\/aico/);
    await ui.press('o');
    f = await ui.waitFor(/Backups in s3:\/\/backups\/aico \(1\)/);
    assert.match(f, /Store 2 of 2 \(o: next\): \/home\/ana\/backups  \[s3:\/\/backups\/aico\]/);
    assert.equal(rows(f).length, 1);
    await ui.press('x');
    await ui.waitFor(/Clean up s3:\/\/backups\/aico/);
    assert.deepEqual(fake.callsOf('cleanup').map((c) => c.dir), [bucket]);
    await ui.waitFor('y = remove');
    await ui.press('n');
    await ui.waitFor((fr) => !fr.includes('y = remove'));
    await ui.press('q');
    await ui.waitFor(/Backups in s3:\/\/backups\/aico/);
    await ui.press('o');
    await ui.waitFor(/Backups in \/home\/ana\/backups \(2\)/);
    assert.deepEqual(fake.callsOf('list').map((c) => c.dir).filter((d, i, all) => all.indexOf(d) === i), [OUT, bucket]);
  });

  test('one store only: no store line, no o in the footer', async () => {
    const ui = renderApp(withBackups(1));
    const f = await ui.waitFor(/Backups in \/home\/ana\/backups \(1\)/);
    assert.doesNotMatch(f, /Store 1 of|other store/);
  });

  test('an empty backup directory says how to create the first backup', async () => {
    const fake = withBackups(0);
    const ui = renderApp(fake);
    const f = await ui.waitFor('No backups yet');
    assert.match(f, /Backups in \/home\/ana\/backups \(0\)/);
    assert.match(f, /Press c to create the first one/);
    assert.equal(rows(f).length, 0);
    assert.deepEqual(fake.callsOf('list'), [{ dir: OUT }]);
  });

  test('200 backups: the header counts them all, one page is shown, the first is selected', async () => {
    const ui = renderApp(withBackups(200));
    const f = await ui.waitFor('(200)');
    assert.match(f, /Backups in \/home\/ana\/backups \(200\)/);
    const shown = rows(f);
    // 24 rows (no size reported by the test terminal) minus 9 lines of chrome.
    assert.equal(shown.length, 15, f);
    assert.ok(shown.length < 200);
    assert.deepEqual(marked(f).length, 1);
    assert.ok(marked(f)[0]!.includes(when(0)), f);
    assert.ok(!f.includes(when(15)), 'the 16th backup is not on the first page');
    assert.match(shown[0]!, /full\s+18\.0 MiB\s+no\s+libsql,chromadb/);
  });

  test('a chain: deltas are marked incr and diff, the selected one names its parent and what a restore reads, a broken chain says so', async () => {
    const fake = withBackups(4);
    const [b0, b1, b2, b3] = fake.backups;
    // Newest first: b0 incremental on b1 incremental on b3 full; b2 differential on a full that is gone.
    Object.assign(b0!, { type: 'incremental', parent_id: b1!.id, parent_name: b1!.name, chain_intact: true });
    Object.assign(b1!, { type: 'incremental', parent_id: b3!.id, parent_name: b3!.name, chain_intact: true });
    Object.assign(b2!, { type: 'differential', parent_id: 'gone', parent_name: null, chain_intact: false });
    const ui = renderApp(fake);
    let f = await ui.waitFor('restoring it reads');
    assert.match(rows(f)[0]!, /incr\s+18\.0 MiB/);
    assert.match(rows(f)[2]!, /diff .*! CHAIN BROKEN/);
    assert.ok(flat(f).includes(`Selected: incremental on the backup of ${when(1)}; restoring it reads 3 backups (incr <- incr <- full).`), f);
    await ui.press(KEY.down);
    await ui.press(KEY.down);
    f = await ui.waitFor('is BROKEN');
    assert.ok(flat(f).includes('Selected: differential on gone, which is missing; its chain is BROKEN'), f);
    // Any point of the chain restores from here.
    await ui.press(KEY.up);
    await ui.press('r');
    await ui.waitFor((frame) => frame.includes(b1!.name));
  });

  test('arrows and pageDown move the ">" marker and scroll the page', async () => {
    const ui = renderApp(withBackups(200));
    await ui.waitFor('(200)');
    await ui.press(KEY.down);
    await markerOn(ui, 1);
    await ui.press(KEY.down, KEY.down);
    await markerOn(ui, 3);
    await ui.press(KEY.up);
    await markerOn(ui, 2);
    await ui.press(KEY.pageDown);
    let f = await markerOn(ui, 17);
    assert.ok(!f.includes(when(0)), 'the page scrolled past the first backup');
    assert.equal(rows(f).length, 15);
    // Past the end it stops on the last backup, shown as the last row.
    for (let i = 0; i < 14; i++) await ui.press(KEY.pageDown);
    f = await markerOn(ui, 199);
    assert.equal(rows(f).at(-1), marked(f)[0]);
    assert.equal(rows(f).length, 15);
    await ui.press(KEY.down);
    await markerOn(ui, 199);
    await ui.press(KEY.pageUp);
    await markerOn(ui, 184);
  });

  test('keys arriving in one chunk (tmux, a fast typist) act on the backup the marker is on', async () => {
    const fake = withBackups(5);
    const ui = renderApp(fake);
    await ui.waitFor('(5)');
    ui.stdin.write(KEY.down + KEY.down + 'd');
    const f = await ui.waitFor('This cannot be undone');
    assert.ok(marked(f)[0]!.includes(when(2)), f);
    // Regression: setCursor updated cursorRef inside the state updater, which React
    // runs at the next render, so "d" still read cursor 0 and offered to delete another backup.
    assert.ok(flat(f).includes(`Delete ${backupEntry(2).name}`), `the confirmation names another backup than the marked one:\n${f}`);
  });

  test('a listing error is shown in the error box', async () => {
    const fake = withBackups(3);
    fake.listErrors.push(
      new AicoError('IO_ERROR', `Cannot read ${OUT}: EACCES: permission denied, scandir '${OUT}'`, { hint: 'Check the ownership and permissions of that path.' }),
    );
    const ui = renderApp(fake);
    const f = await ui.waitFor('Error (IO_ERROR)');
    assert.match(f, /Cannot read \/home\/ana\/backups: EACCES: permission denied/);
    assert.match(f, /What to do: Check the ownership and permissions of that path\./);
    assert.match(f, /[╭┌]/, 'drawn in a box');
    assert.ok(!f.includes('Reading backup headers'), 'no spinner once the error is known');
    assert.equal(rows(f).length, 0);
  });

  test('g after a listing error reloads, and the old error goes away once the listing works', async () => {
    const fake = withBackups(3);
    fake.listErrors.push(new AicoError('IO_ERROR', `Cannot read ${OUT}: EIO: i/o error, scandir '${OUT}'`));
    const ui = renderApp(fake);
    await ui.waitFor('Error (IO_ERROR)');
    await ui.press('g');
    const f = await ui.waitFor('(3)');
    assert.equal(rows(f).length, 3);
    assert.equal(fake.callsOf('list').length, 2);
    // Regression: load() never cleared `error`, so the stale box stayed above a working list.
    assert.ok(!f.includes('Error (IO_ERROR)'), `stale error box still shown:\n${f}`);
  });

  test('d asks for confirmation; another key keeps the backup', async () => {
    const fake = withBackups(3);
    const ui = renderApp(fake);
    await ui.waitFor('(3)');
    await ui.press(KEY.down);
    await markerOn(ui, 1);
    await ui.press('d');
    let f = await ui.waitFor('This cannot be undone');
    assert.ok(flat(f).includes(`Delete ${backupEntry(1).name} (18.0 MiB)? This cannot be undone.`), f);
    assert.match(flat(f), /y = delete, any other key = keep/);
    await ui.press('n');
    f = await ui.settle();
    assert.ok(!f.includes('This cannot be undone'));
    assert.deepEqual(fake.callsOf('deleteBackups'), []);
    assert.equal(rows(f).length, 3);
    assert.ok(marked(f)[0]!.includes(when(1)), 'the key that answered "no" did nothing else');
    assert.match(f, /\(3\)/);
  });

  test('d then y deletes the selected backup through the engine and reloads the list', async () => {
    const fake = withBackups(3);
    const ui = renderApp(fake);
    await ui.waitFor('(3)');
    await ui.press(KEY.down);
    await markerOn(ui, 1);
    await ui.press('d');
    await ui.waitFor('This cannot be undone');
    await ui.press('y');
    const f = await ui.waitFor('(2)');
    assert.deepEqual(fake.callsOf('deleteBackups'), [{ paths: [backupEntry(1).path] }]);
    assert.equal(fake.callsOf('list').length, 2, 'reloaded after deleting');
    assert.ok(f.includes(`Deleted ${backupEntry(1).name}.`), f);
    assert.ok(!f.includes(when(1)));
    assert.ok(f.includes(when(0)) && f.includes(when(2)));
    assert.ok(!f.includes('This cannot be undone'));
  });

  test('deleting a backup another process still reads says so, and that its space comes back when the reader closes it', async () => {
    const fake = withBackups(2);
    fake.readers.set(backupEntry(0).path, [{ pid: 4242, command: 'node bin/aico.js backup verify' }]);
    const ui = renderApp(fake);
    await ui.waitFor('(2)');
    await ui.press('d');
    await ui.waitFor('This cannot be undone');
    await ui.press('y');
    const f = flat(await ui.waitFor('(1)'));
    assert.ok(f.includes(`Deleted ${backupEntry(0).name}. It is still open in pid 4242, which reads it to the end; the space is freed when it closes it.`), f);
  });

  test('a delete the engine refuses (the file went away since the listing) is shown in the error box after a reload', async () => {
    const fake = withBackups(2);
    fake.backups[0] = { ...backupEntry(0), path: `${OUT}/gone.tar` };
    const ui = renderApp(fake);
    await ui.waitFor('(2)');
    // The listed path no longer exists for the engine.
    fake.backups = [backupEntry(1)];
    await ui.press('d');
    await ui.waitFor('This cannot be undone');
    await ui.press('y');
    const f = await ui.waitFor('Error (NOT_FOUND)');
    assert.match(flat(f), /gone\.tar does not exist/);
    assert.ok(!f.includes('Deleted'), f);
    assert.equal(fake.callsOf('list').length, 2, 'the list was read again');
  });

  describe('keys open the other screens', () => {
    test('enter and i open info of the selected backup; q comes back to a fresh list', async () => {
      const fake = withBackups(3);
      const ui = renderApp(fake);
      await ui.waitFor('(3)');
      await ui.press(KEY.down);
      await markerOn(ui, 1);
      await ui.press(KEY.enter);
      let f = await ui.waitFor('Contents');
      assert.ok(f.startsWith(backupEntry(1).path), f);
      assert.deepEqual(fake.callsOf('info').map((o) => o.path), [backupEntry(1).path]);
      await ui.press('q');
      await ui.waitFor('(3)');
      assert.equal(fake.callsOf('list').length, 2, 'the list is read again');
      await ui.press('i');
      f = await ui.waitFor('Contents');
      assert.ok(f.startsWith(backupEntry(0).path), 'cursor back at the top after a remount');
    });

    test('v opens verify of the selected backup', async () => {
      const fake = withBackups(3);
      const ui = renderApp(fake);
      await ui.waitFor('(3)');
      await ui.press(KEY.down, KEY.down);
      await markerOn(ui, 2);
      await ui.press('v');
      await ui.waitFor(`Verify ${backupEntry(2).path}`);
      await ui.waitFor('OK:');
      assert.deepEqual(fake.callsOf('verify').map((o) => o.path), [backupEntry(2).path]);
      await ui.press('q');
      const f = await ui.waitFor('(3)');
      // The session remembers the result and shows it in the Verified column.
      const row = rows(f).find((l) => l.includes(when(2)))!;
      assert.match(row, /\bok\s*$/);
    });

    test('r opens restore of the selected backup', async () => {
      const fake = withBackups(3);
      const ui = renderApp(fake);
      await ui.waitFor('(3)');
      await ui.press(KEY.down);
      await markerOn(ui, 1);
      await ui.press('r');
      await ui.waitFor(`Restore ${backupEntry(1).path}`);
      await ui.waitFor('Databases (space ticks');
      assert.deepEqual(fake.callsOf('info').map((o) => o.path), [backupEntry(1).path]);
    });

    test('c opens the create form; q comes back', async () => {
      const fake = withBackups(1);
      const ui = renderApp(fake);
      await ui.waitFor('(1)');
      await ui.press('c');
      await ui.waitFor(`New backup of ${HOME}`);
      await ui.press('q');
      await ui.waitFor('(1)');
      assert.ok(!ui.exited());
    });

    test('? opens help about the list; q comes back', async () => {
      const ui = renderApp(withBackups(1));
      await ui.waitFor('(1)');
      await ui.press('?');
      const f = await ui.waitFor('Help: backups');
      assert.match(f, /Only headers are read, so no password is needed/);
      await ui.press('q');
      await ui.waitFor('(1)');
      assert.ok(!ui.exited());
    });

    test('q on the list quits the app', async () => {
      const ui = renderApp(withBackups(1));
      await ui.waitFor('(1)');
      assert.ok(!ui.exited());
      await ui.press('q');
      assert.ok(ui.exited(), 'the app released the keyboard (exited)');
    });

    test('esc on the list quits too', async () => {
      const ui = renderApp(withBackups(1));
      await ui.waitFor('(1)');
      await ui.press(KEY.esc);
      assert.ok(ui.exited());
    });

    test('keys that need a backup do nothing on an empty list', async () => {
      const fake = withBackups(0);
      const ui = renderApp(fake);
      await ui.waitFor('No backups yet');
      await ui.press(KEY.enter, 'v', 'r', 'd');
      const f = await ui.settle();
      assert.match(f, /No backups yet/);
      assert.deepEqual([fake.callsOf('info'), fake.callsOf('verify'), fake.callsOf('deleteBackups')], [[], [], []]);
    });
  });

  test('colour is used by default, and NO_COLOR=1 gives no ANSI colour codes in any frame', async () => {
    const fake = withBackups(5);
    fake.backups.push(backupEntry(5, { problem: { code: 'CORRUPT_HEADER', message: 'bad magic' } }));
    // Control: without NO_COLOR the selected row and the key hints are coloured.
    const coloured = renderApp(fake);
    await coloured.waitFor('(6)');
    assert.ok(colourCodes(coloured.rawFrame()).length > 0, 'expected colour without NO_COLOR (FORCE_COLOR is set by the harness)');
    coloured.unmount();

    await withNoColor(async () => {
      const ui = renderApp(fake);
      await ui.waitFor('(6)');
      await ui.press(KEY.down, 'd');
      await ui.waitFor('This cannot be undone');
      await ui.press('y');
      await ui.waitFor('Deleted');
      const codes = ui.rawFrames().flatMap(colourCodes);
      assert.deepEqual(codes, []);
      assert.equal(marked(ui.frame()).length, 1, 'the selection is still visible without colour');
    });
    await withNoColor(async () => {
      const f2 = new FakeEngine();
      f2.listErrors.push(new AicoError('IO_ERROR', 'Cannot read /x: EIO'));
      const ui = renderApp(f2);
      await ui.waitFor('Error (IO_ERROR)');
      assert.deepEqual(ui.rawFrames().flatMap(colourCodes), []);
    });
  });

  describe('at 80 columns', () => {
    async function frameAt80(): Promise<string> {
      const fake = withBackups(200);
      // Worst case for width: a damaged entry, whose row carries its problem code.
      fake.backups[1] = backupEntry(1, { problem: { code: 'UNSUPPORTED_FORMAT', message: 'This backup was written by a newer aico-backup (format 2).' } });
      const ui = renderApp(fake, { columns: 80 });
      await ui.waitFor('(200)');
      await ui.press(KEY.down);
      return markerOn(ui, 1);
    }

    test('no line of the backups frame is wider than 80 columns', async () => {
      const f = await frameAt80();
      const wide = f.split('\n').filter((l) => [...l].length > 80);
      assert.deepEqual(wide, []);
    });

    test('the column header stays on one line', async () => {
      const f = await frameAt80();
      const lines = f.split('\n');
      const header = lines.findIndex((l) => l.includes('Created'));
      // Regression: the header string was 81 characters, so Ink wrapped "Verified" onto a line of its own.
      assert.match(lines[header]!, /Created\s+Type\s+Size\s+Enc\s+Databases\s+Verified/, `header wrapped:\n${lines.slice(header, header + 2).join('\n')}`);
    });
  });
});
