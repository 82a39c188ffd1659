import { KEY, cleanup, colourCodes, renderApp, withNoColor, type Ui } from '../ui/harness.js';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { FakeEngine, Gate, HOME, MiB, OUT, backupEntry } from '../ui/fake-engine.js';

afterEach(cleanup);

const plain = backupEntry(0);
const enc = backupEntry(1, { encrypted: true });

function engine(): FakeEngine {
  const fake = new FakeEngine();
  fake.backups = [plain, enc];
  fake.passwords.set(enc.path, 'right one');
  return fake;
}

const item = (f: string, name: string) => f.split('\n').find((l) => new RegExp(`\\[[x ]\\] ${name}\\b`).test(l)) ?? '';

async function openRestore(fake: FakeEngine): Promise<Ui> {
  const ui = renderApp(fake);
  await ui.waitFor('(2)');
  await ui.press('r');
  await ui.waitFor((f) => f.includes(`Restore ${plain.path}`) && f.includes('] config'));
  return ui;
}

/** Unticks chromadb (second in the checklist), then enter previews. */
async function previewWithoutChromadb(ui: Ui): Promise<string> {
  await ui.press(KEY.down);
  await ui.waitFor((f) => item(f, 'chromadb').startsWith('>'));
  await ui.press(KEY.space);
  await ui.waitFor((f) => item(f, 'chromadb').includes('[ ]'));
  await ui.press(KEY.enter);
  return ui.waitFor((f) => f.includes('Preview (dry run') && f.includes('enter continue'));
}

describe('restore screen', () => {
  test('the databases checklist comes from the backup metadata, all ticked, with sizes', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    const f = ui.frame();
    assert.deepEqual(fake.callsOf('info').map((o) => o.path), [plain.path]);
    assert.match(f, /> Databases \(space ticks, tab to the next field\)/);
    assert.match(item(f, 'libsql'), /^> \[x\] libsql\s+5\.0 MiB$/);
    assert.match(item(f, 'chromadb'), /^  \[x\] chromadb\s+12\.0 MiB$/);
    assert.match(item(f, 'working'), /\[x\] working\s+1\.0 MiB$/);
    assert.match(item(f, 'config'), /\[x\] config\s+6\.0 KiB$/);
    assert.match(f, new RegExp(`Target  in place \\(${HOME}\\)`));
    assert.match(f, /Mode    replace: what exists is saved first, then replaced/);
    assert.deepEqual(fake.callsOf('prepareRestore'), [], 'nothing runs before the preview is asked for');
  });

  test('the legend says "enter preview", and enter on any field, the checklist included, previews', async () => {
    for (const tabs of [0, 1, 2]) {
      const fake = engine();
      const ui = await openRestore(fake);
      for (let i = 0; i < tabs; i++) await ui.press(KEY.tab);
      const f = await ui.waitFor((fr) => (tabs === 0 ? item(fr, 'libsql').startsWith('>') : new RegExp(`^> ${tabs === 1 ? 'Target' : 'Mode'}`, 'm').test(fr)));
      assert.match(f, /enter preview/);
      await ui.press(KEY.enter);
      await ui.waitFor((fr) => fr.includes('Preview (dry run') && fr.includes('enter continue'), 2000);
      assert.deepEqual(fake.callsOf('prepareRestore').map((c) => c.databases), [['libsql', 'chromadb', 'working', 'config']]);
      cleanup();
    }
  });

  test('with nothing ticked, enter previews nothing and the screen says why', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    for (const name of ['libsql', 'chromadb', 'working', 'config']) {
      await ui.waitFor((f) => item(f, name).startsWith('>'));
      await ui.press(KEY.space);
      await ui.waitFor((f) => item(f, name).includes('[ ]'));
      await ui.press(KEY.down);
    }
    await ui.press(KEY.enter);
    const f = await ui.settle();
    assert.match(f, /Tick at least one database\./);
    assert.deepEqual(fake.callsOf('prepareRestore'), []);
  });

  test('the dry-run preview lists what happens to each ticked database', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    const f = await previewWithoutChromadb(ui);
    const [call] = fake.callsOf('prepareRestore');
    assert.deepEqual(
      { ...call, password: undefined },
      { path: plain.path, password: undefined, home: HOME, target: undefined, databases: ['libsql', 'working', 'config'], merge: false, safetyBackupDir: OUT },
    );
    assert.match(f, /Preview \(dry run: nothing has changed yet\)/);
    assert.match(f, /libsql\s+replace\s+5\.0 MiB\s+validated 1234 rows/);
    assert.match(f, /working\s+add\s+1\.0 MiB\s+validated 4321 entries/);
    assert.match(f, /config\s+replace\s+6\.0 KiB/);
    assert.ok(!/^\s+chromadb/m.test(f), 'the unticked database is not in the preview');
  });

  test('merge mode: the preview shows what is skipped and what is added', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    await ui.press(KEY.tab, KEY.tab);
    await ui.waitFor((f) => /^> Mode/m.test(f));
    await ui.press(KEY.space);
    await ui.waitFor('Mode    merge: add what is missing, keep what exists');
    await ui.press(KEY.enter);
    const f = await ui.waitFor((fr) => fr.includes('Preview (dry run') && fr.includes('enter continue'));
    const [call] = fake.callsOf('prepareRestore');
    assert.equal(call.merge, true);
    assert.deepEqual(call.databases, ['libsql', 'chromadb', 'working', 'config']);
    assert.match(f, /libsql\s+skip\s+0 B\s+validated 1234 rows kept 4 existing/);
    assert.match(f, /chromadb\s+skip/);
    assert.match(f, /working\s+add\s+1\.0 MiB\s+validated 4321 entries/);
    assert.match(f, /config\s+skip\s+6\.0 KiB\s+kept 3 existing/);
  });

  test('y at the confirmation commits the previewed restore (no second staging) and shows each validation', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    await previewWithoutChromadb(ui);
    await ui.press(KEY.enter);
    let f = await ui.waitFor('now? y = yes, any other key = no');
    assert.match(f, new RegExp(`Restore in place \\(${HOME}\\) now\\?`));
    assert.equal(fake.callsOf('prepareRestore').length, 1, 'only the preview so far');
    assert.deepEqual(fake.callsOf('commit'), []);
    await ui.press('y');
    f = await ui.waitFor('Restored into');
    assert.equal(fake.callsOf('prepareRestore').length, 1, 'y does not prepare (read and stage the archive) again');
    assert.deepEqual(fake.callsOf('restore'), []);
    const [commit] = fake.callsOf('commit');
    assert.deepEqual([commit.path, commit.home, commit.target, commit.merge, commit.safetyBackupDir, commit.databases], [plain.path, HOME, undefined, false, OUT, ['libsql', 'working', 'config']]);
    assert.equal(fake.heldRestores, 0);
    assert.match(f, new RegExp(`Restored into ${HOME}`));
    assert.match(f, /libsql\s+replace\s+5\.0 MiB\s+validated 1234 rows/);
    assert.match(f, /working\s+add\s+1\.0 MiB\s+validated 4321 entries/);
    assert.match(f, /config\s+replace\s+6\.0 KiB/);
    assert.match(f, /What was replaced is saved in \/home\/ana\/backups\/aico-backup-20260314-100000-pre-restore\.tar\.zst/);
    assert.match(f, /enter back/);
    await ui.press(KEY.enter);
    await ui.waitFor('Backups in');
  });

  test('any other key at the confirmation restores nothing and discards the prepared restore', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    await previewWithoutChromadb(ui);
    await ui.press(KEY.enter);
    await ui.waitFor('now? y = yes');
    assert.equal(fake.heldRestores, 1, 'the previewed restore is held for y');
    await ui.press('n');
    const f = await ui.waitFor('Databases (space ticks');
    assert.ok(!f.includes('now? y = yes'));
    await ui.settle();
    assert.deepEqual(fake.callsOf('commit'), []);
    assert.equal(fake.callsOf('discard').length, 1);
    assert.equal(fake.heldRestores, 0);
  });

  test('esc at the preview discards it; enter previews again (prepared anew)', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    await previewWithoutChromadb(ui);
    await ui.press(KEY.esc);
    await ui.waitFor('Databases (space ticks');
    await ui.settle();
    assert.equal(fake.callsOf('discard').length, 1);
    assert.equal(fake.heldRestores, 0);
    await ui.press(KEY.enter);
    await ui.waitFor((f) => f.includes('Preview (dry run') && f.includes('enter continue'));
    assert.equal(fake.callsOf('prepareRestore').length, 2);
    assert.equal(fake.heldRestores, 1);
  });

  test('leaving the TUI while a preview waits for y discards it', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    await previewWithoutChromadb(ui);
    await ui.press(KEY.enter);
    await ui.waitFor('now? y = yes');
    ui.unmount();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.callsOf('discard').length, 1);
    assert.equal(fake.heldRestores, 0);
  });

  test('leaving the TUI while the preview is being prepared discards it once ready', async () => {
    const fake = engine();
    const gate = new Gate();
    fake.restoreSteps = [{ hold: gate }];
    const ui = await openRestore(fake);
    await ui.press(KEY.enter);
    await ui.waitFor('Verifying the archive and staging its files');
    ui.unmount();
    gate.release();
    for (let i = 0; i < 50 && fake.callsOf('discard').length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fake.callsOf('discard').length, 1);
    assert.equal(fake.heldRestores, 0);
  });

  test('the commit shows its phase (no staging again), and esc cancels it', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    await previewWithoutChromadb(ui);
    const gate = new Gate();
    fake.commitSteps = [{ hold: gate }];
    await ui.press(KEY.enter);
    await ui.waitFor('now? y = yes');
    await ui.press('y');
    let f = await ui.waitFor('Saving what will be replaced (pre-restore safety backup)');
    assert.ok(!f.includes('Verifying the archive and staging its files'), f);
    assert.match(f, /esc cancel/);
    await ui.press(KEY.esc);
    f = await ui.waitFor('Cancelled');
    assert.match(f, /Cancelled; the target was left as it was\./);
    assert.ok(!f.includes('Restored into') && !f.includes('Error ('));
    assert.equal(fake.heldRestores, 0);
  });

  test('esc during the preview cancels it without reporting an error', async () => {
    const fake = engine();
    const gate = new Gate();
    fake.restoreSteps = [{ wait: 30 }, { type: 'progress', bytesDone: 2 * MiB, bytesTotal: 18 * MiB, source: 'libsql' }, { hold: gate }];
    const ui = await openRestore(fake);
    await ui.press(KEY.enter);
    await ui.waitFor('11%');
    await ui.press(KEY.esc);
    const f = await ui.waitFor((fr) => !fr.includes('11%'));
    // Regression: the preview rendered any error, so a cancelled dry run showed "Error (CANCELLED)".
    assert.ok(!f.includes('Error (CANCELLED)'), `a cancelled preview is shown as an error:\n${f}`);
  });

  test('q on the databases checklist goes back to the list', async () => {
    const fake = engine();
    const ui = await openRestore(fake);
    await ui.press('q');
    // Regression: useBackKeys was active only when field !== 0, and the checklist is field 0.
    await ui.waitFor('Backups in', 1000);
  });

  test('a wrong password is reported, and esc then leaves the screen (and the password is asked again)', async () => {
    const fake = engine();
    const ui = renderApp(fake);
    await ui.waitFor('(2)');
    await ui.press(KEY.down);
    await ui.waitFor((f) => f.split('\n').some((l) => l.startsWith('>') && l.includes('yes')));
    await ui.press('r');
    await ui.waitFor('Password: ');
    await ui.type('wrong one');
    await ui.press(KEY.enter);
    const f = await ui.waitFor('Error (WRONG_PASSWORD)');
    assert.match(f, /What to do: Check the password \(it is case-sensitive\) and try again\./);
    assert.ok(!f.includes('Databases (space ticks'));
    // Regression: no key worked here: the select-step keys wait for the metadata, and
    // useBackKeys was off on field 0 (the app also turns Ink's ctrl-c exit off).
    await ui.press(KEY.esc);
    await ui.waitFor('Backups in', 1000);
    await ui.press(KEY.down);
    await ui.waitFor((fr) => fr.split('\n').some((l) => l.startsWith('>') && l.includes('yes')));
    await ui.press('r');
    await ui.waitFor('Password: ');
    await ui.type('right one');
    await ui.press(KEY.enter);
    await ui.waitFor('] config');
    assert.deepEqual(fake.passwordsSeen, ['wrong one', 'right one']);
  });

  test('NO_COLOR=1: checklist, preview, confirmation and result carry no colour codes (coloured otherwise)', async () => {
    const run = async () => {
      const fake = engine();
      const ui = await openRestore(fake);
      await previewWithoutChromadb(ui);
      await ui.press(KEY.enter);
      await ui.waitFor('now? y = yes');
      await ui.press('y');
      await ui.waitFor('Restored into');
      const codes = ui.rawFrames().flatMap(colourCodes);
      ui.unmount();
      return codes;
    };
    assert.ok((await run()).length > 0, 'control: coloured without NO_COLOR');
    await withNoColor(async () => assert.deepEqual(await run(), []));
  });
});
