import { KEY, cleanup, colourCodes, renderApp, withNoColor, type Ui } from '../ui/harness.js';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { AicoError } from '../../src/engine/errors.js';
import { FakeEngine, Gate, HOME, MiB, OUT, backupEntry } from '../ui/fake-engine.js';

afterEach(cleanup);

const FIELD = { compression: 0, level: 1, encrypt: 2, output: 3, type: 4, libsql: 5, chromadb: 6, working: 7, config: 8, models: 9, cache: 10, temp: 11 } as const;

/** The form line of a field (by its label) and whether the ">" marker is on it. */
const line = (f: string, label: RegExp) => f.split('\n').find((l) => label.test(l)) ?? '';
const LABEL: Record<keyof typeof FIELD, RegExp> = {
  compression: /Compression/,
  level: /Level/,
  encrypt: /Encryption/,
  output: /Backup dir/,
  type: /Type  /,
  libsql: /\] libsql/,
  chromadb: /\] chromadb/,
  working: /\] working/,
  config: /\] config/,
  models: /\] models/,
  cache: /\] cache/,
  temp: /\] temp/,
};

async function openForm(fake: FakeEngine): Promise<Ui> {
  fake.backups = [backupEntry(0)];
  const ui = renderApp(fake);
  await ui.waitFor('(1)');
  await ui.press('c');
  await ui.waitFor((f) => f.includes(`New backup of ${HOME}`) && f.includes('] temp'));
  return ui;
}

/** Moves the ">" marker down to a field (from wherever it is) and waits until it is there. */
async function goTo(ui: Ui, field: keyof typeof FIELD): Promise<string> {
  for (let i = 0; i < 13 && !line(ui.frame(), LABEL[field]).startsWith('>'); i++) await ui.press(KEY.down);
  return ui.waitFor((f) => line(f, LABEL[field]).startsWith('>'));
}

/** Holds create at 5 of 18 MiB (libsql) until the gate opens. */
function heldAtLibsql(fake: FakeEngine): Gate {
  const gate = new Gate();
  fake.createSteps = [
    { wait: 60 },
    { type: 'progress', bytesDone: 5 * MiB, bytesTotal: 18 * MiB, source: 'libsql' },
    { hold: gate },
    { type: 'progress', bytesDone: 17 * MiB, bytesTotal: 18 * MiB, source: 'chromadb' },
    { type: 'progress', bytesDone: 18 * MiB, bytesTotal: 18 * MiB, source: 'config' },
  ];
  return gate;
}

async function enterPasswordTwice(ui: Ui, first: string, second = first): Promise<void> {
  await ui.press(KEY.enter);
  await ui.waitFor('Password for the encrypted backup');
  await ui.type(first);
  await ui.waitFor(`Password: ${'*'.repeat(first.length)}`);
  await ui.press(KEY.enter);
  await ui.waitFor('Repeat:');
  await ui.type(second);
  await ui.waitFor(`Repeat:   ${'*'.repeat(second.length)}`);
  await ui.press(KEY.enter);
}

describe('create screen', () => {
  test('the form shows the configured defaults and the sources of the home with their sizes', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    const f = ui.frame();
    assert.deepEqual(fake.callsOf('describeHome'), [{ home: HOME }]);
    assert.match(line(f, LABEL.compression), /^> Compression\s+< zstd >/);
    assert.match(line(f, LABEL.level), /^  Level\s+< 3 > \(1 fast \.\. 9 small\)/);
    assert.match(line(f, LABEL.encrypt), /Encryption\s+\[x\] AES-256-GCM, password asked next/);
    assert.match(line(f, LABEL.output), /Backup dir\s+\/home\/ana\/backups/);
    // Present databases and config are ticked; extras are not; absent ones say so.
    assert.match(line(f, LABEL.libsql), /\[x\] libsql\s+5\.0 MiB/);
    assert.match(line(f, LABEL.chromadb), /\[x\] chromadb\s+12\.0 MiB/);
    assert.match(line(f, LABEL.working), /\[x\] working\s+1\.0 MiB/);
    assert.match(line(f, LABEL.config), /\[x\] config\s+6\.0 KiB/);
    assert.match(line(f, LABEL.models), /\[ \] models\s+300 MiB/);
    assert.match(line(f, LABEL.cache), /\[ \] cache\s+not present/);
    assert.match(line(f, LABEL.temp), /\[ \] temp\s+not present/);
  });

  test('compression cycles with right and left; the level is "not used" by lz4 and none', async () => {
    const ui = await openForm(new FakeEngine());
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      await ui.press(KEY.right);
      const f = await ui.waitFor((fr) => !line(fr, LABEL.compression).includes(`< ${seen.at(-1) ?? 'zstd'} >`));
      seen.push(/< (\w+) >/.exec(line(f, LABEL.compression))![1]!);
      if (['lz4', 'none'].includes(seen.at(-1)!)) assert.match(line(f, LABEL.level), /\(not used\)/);
      else assert.match(line(f, LABEL.level), /\(1 fast \.\. 9 small\)/);
    }
    assert.deepEqual(seen, ['gzip', 'lz4', 'none', 'zstd']);
    await ui.press(KEY.left);
    await ui.waitFor((f) => line(f, LABEL.compression).includes('< none >'));
    await ui.press(KEY.left);
    await ui.waitFor((f) => line(f, LABEL.compression).includes('< lz4 >'));
  });

  test('the level stays within 1..9', async () => {
    const ui = await openForm(new FakeEngine());
    await goTo(ui, 'level');
    for (let i = 0; i < 7; i++) await ui.press(KEY.right); // 3 -> 9, and once more
    let f = await ui.settle();
    assert.match(line(f, LABEL.level), /< 9 >/);
    for (let i = 0; i < 9; i++) await ui.press(KEY.left); // 9 -> 1, and once more
    f = await ui.settle();
    assert.match(line(f, LABEL.level), /< 1 >/);
    assert.match(line(f, LABEL.compression), /< zstd >/, 'left/right on the level field leave compression alone');
  });

  test('space toggles encryption, and ticks sources; with none ticked enter does nothing', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    await goTo(ui, 'encrypt');
    await ui.press(KEY.space);
    await ui.waitFor((f) => /Encryption\s+\[ \] NOT encrypted/.test(line(f, LABEL.encrypt)));
    await ui.press(KEY.space);
    await ui.waitFor((f) => /Encryption\s+\[x\] AES-256-GCM/.test(line(f, LABEL.encrypt)));
    await goTo(ui, 'models');
    await ui.press(KEY.space);
    await ui.waitFor((f) => /\[x\] models/.test(line(f, LABEL.models)));
    for (const s of ['libsql', 'chromadb', 'working', 'config', 'models'] as const) {
      // up wraps around from field 0, so walk down through the list each time
      for (let i = 0; i < 12 && !line(ui.frame(), LABEL[s]).startsWith('>'); i++) await ui.press(KEY.down);
      await ui.press(KEY.space);
      await ui.waitFor((f) => line(f, LABEL[s]).includes('[ ]'));
    }
    const f = await ui.waitFor('Tick at least one source.');
    for (const s of ['libsql', 'chromadb', 'working', 'config', 'models', 'cache', 'temp'] as const) assert.match(line(f, LABEL[s]), /\[ \]/);
    await ui.press(KEY.enter);
    const after = await ui.settle();
    assert.match(after, /New backup of/);
    assert.ok(!after.includes('Password for the encrypted backup'));
    assert.deepEqual(fake.callsOf('create'), []);
  });

  test('the password is asked twice, masked; a mismatch is reported and asked again', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    await enterPasswordTwice(ui, 'first-Secret', 'other-Secret');
    let f = await ui.waitFor('The two passwords differ; type it again.');
    assert.match(f, /Password: (?!\*)/, 'back at the first, empty prompt');
    assert.ok(!f.includes('Repeat:'));
    assert.deepEqual(fake.callsOf('create'), []);
    await ui.type('same-Secret');
    await ui.press(KEY.enter);
    await ui.waitFor('Repeat:');
    await ui.type('same-Secret');
    await ui.press(KEY.enter);
    f = await ui.waitFor('Saved ');
    assert.deepEqual(fake.passwordsSeen, ['same-Secret']);
    for (const fr of ui.allFrames()) assert.ok(!/Secret|first-|other-|same-/.test(fr), `a password in clear:\n${fr}`);
  });

  test('esc at the password prompt goes back to the form', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    await ui.press(KEY.enter);
    await ui.waitFor('Password for the encrypted backup');
    await ui.press(KEY.esc);
    await ui.waitFor(`New backup of ${HOME}`);
    assert.deepEqual(fake.callsOf('create'), []);
  });

  test('the options passed to engine.create match the form', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    await ui.press(KEY.right); // gzip
    await goTo(ui, 'level');
    for (let i = 0; i < 4; i++) await ui.press(KEY.right); // 3 -> 7
    await ui.waitFor((f) => line(f, LABEL.level).includes('< 7 >'));
    await goTo(ui, 'working');
    await ui.press(KEY.space);
    await goTo(ui, 'models');
    await ui.press(KEY.space);
    await ui.waitFor((f) => line(f, LABEL.models).includes('[x]') && line(f, LABEL.working).includes('[ ]'));
    await enterPasswordTwice(ui, 'horse battery');
    const f = await ui.waitFor('Saved ');
    const calls = fake.callsOf('create');
    assert.equal(calls.length, 1);
    const { password, include, ...rest } = calls[0];
    assert.deepEqual(rest, { home: HOME, outputDir: OUT, encrypt: true, compression: 'gzip', compressionLevel: 7, exclude: [], maxChain: 14 });
    assert.deepEqual([...include].sort(), ['chromadb', 'config', 'libsql', 'models']);
    assert.equal((await password()).toString(), 'horse battery');
    assert.match(f, /Saved \/home\/ana\/backups\/aico-backup-20260314-092653\.tar\.gz\.enc \(15\.0 MiB, encrypted\)/);
  });

  test('an unencrypted backup skips the password and says NOT encrypted', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    await ui.press(KEY.left); // none
    await goTo(ui, 'encrypt');
    await ui.press(KEY.space);
    await ui.waitFor((f) => line(f, LABEL.encrypt).includes('NOT encrypted'));
    await ui.press(KEY.enter);
    const f = await ui.waitFor('Saved ');
    assert.ok(!ui.allFrames().some((fr) => fr.includes('Password for the encrypted backup')));
    const [call] = fake.callsOf('create');
    assert.deepEqual([call.encrypt, call.password, call.compression, call.compressionLevel], [false, undefined, 'none', 3]);
    assert.match(f, /aico-backup-20260314-092653\.tar \(15\.0 MiB, NOT encrypted\)/);
  });

  test('the backup type cycles full, incremental, differential, auto; the one chosen reaches create', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    await ui.press(KEY.left); // none: no password to type
    await goTo(ui, 'encrypt');
    await ui.press(KEY.space);
    let f = await goTo(ui, 'type');
    assert.match(line(f, LABEL.type), /^> Type\s+< full > \(everything\)/);
    const seen: string[] = [];
    for (const want of ['incremental', 'differential', 'auto', 'full', 'auto', 'differential', 'incremental']) {
      await ui.press(seen.length < 4 ? KEY.right : KEY.left);
      f = await ui.waitFor((fr) => line(fr, LABEL.type).includes(`< ${want} >`));
      seen.push(want);
    }
    assert.match(line(f, LABEL.type), /< incremental > \(what changed since the newest backup\)/);
    await ui.press(KEY.enter);
    await ui.waitFor('Saved ');
    const [call] = fake.callsOf('create');
    assert.equal(call.backupType, 'incremental');
  });

  test('a new backup directory typed in the form is used', async () => {
    const fake = new FakeEngine();
    const ui = await openForm(fake);
    await goTo(ui, 'output');
    await ui.press(KEY.space);
    await ui.waitFor(`Backup directory: ${OUT}`);
    for (let i = 0; i < OUT.length; i++) await ui.press(KEY.backspace);
    await ui.type('/mnt/usb/aico');
    await ui.press(KEY.enter);
    await ui.waitFor((f) => /Backup dir\s+\/mnt\/usb\/aico/.test(f));
    await enterPasswordTwice(ui, 'pw');
    await ui.waitFor('Saved /mnt/usb/aico/');
    assert.equal(fake.callsOf('create')[0].outputDir, '/mnt/usb/aico');
  });

  test('progress view: phase, percent, ETA, current source and warnings; then the result; enter goes back', async () => {
    const fake = new FakeEngine();
    const gate = heldAtLibsql(fake);
    fake.createWarnings = [{ code: 'FILE_CHANGED', message: `${HOME}/config/core.yaml changed while it was read (812 bytes expected, 840 found); its copy may be inconsistent.` }];
    const ui = await openForm(fake);
    await enterPasswordTwice(ui, 'pw');
    let f = await ui.waitFor('27%');
    assert.match(f, new RegExp(`Creating a backup of ${HOME}`));
    assert.match(f, /Writing aico-backup-20260314-092653\.tar\.zst\.enc/);
    assert.match(f, /\[#{14}\.{36}\] 27%/);
    assert.match(f, /5\.0 MiB of 18\.0 MiB · [\d.]+ MiB\/s · ETA \d+:\d\d · libsql/);
    assert.match(f, /esc cancel/);
    gate.release();
    f = await ui.waitFor('Saved ');
    assert.match(f, /warning: .*config\/core\.yaml changed while it was read/);
    assert.match(f, /Saved \/home\/ana\/backups\/aico-backup-20260314-092653\.tar\.zst\.enc \(15\.0 MiB, encrypted\)/);
    assert.ok(!/\[#+/.test(f), 'no bar once finished');
    assert.match(f, /enter back to the list/);
    await ui.press(KEY.enter);
    await ui.waitFor('Backups in');
  });

  test('esc cancels a running create; the screen says no partial file was left', async () => {
    const fake = new FakeEngine();
    heldAtLibsql(fake); // never released
    const ui = await openForm(fake);
    await enterPasswordTwice(ui, 'pw');
    await ui.waitFor('27%');
    await ui.press(KEY.esc);
    const f = await ui.waitFor('Cancelled');
    assert.match(f, /Cancelled\. No partial file was left in \/home\/ana\/backups\./);
    assert.ok(!f.includes('Saved') && !f.includes('Error ('));
    assert.ok(f.includes('Creating a backup of'), 'esc cancelled; it did not also leave the screen');
    await ui.press(KEY.enter);
    await ui.waitFor('Backups in');
  });

  test('a failure to read the home is reported, not left spinning', async () => {
    const fake = new FakeEngine();
    fake.api.describeHome = async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new AicoError('IO_ERROR', `Permission denied for ${HOME}.`, { hint: 'Check the ownership and permissions of that path.' });
    };
    // Regression: CreateScreen called describeHome without a catch: the rejection
    // was unhandled (node:test fails this test on it; in the real app Node's
    // default is to crash) and the form kept "Looking at the home" forever.
    const ui = renderApp(fake, { initial: { name: 'create' } });
    await ui.waitFor('Looking at the home');
    const f = await ui.waitFor('Error (IO_ERROR)', 1500);
    assert.match(f, /Permission denied for/);
    assert.ok(!f.includes('Looking at the home'));
  });

  test('NO_COLOR=1: form, mismatch, progress and result carry no colour codes (coloured otherwise)', async () => {
    const run = async () => {
      const fake = new FakeEngine();
      const gate = heldAtLibsql(fake);
      fake.createWarnings = [{ code: 'SOURCE_MISSING', message: `No working data in ${HOME}; skipped.` }];
      const ui = await openForm(fake);
      await enterPasswordTwice(ui, 'a', 'b');
      await ui.waitFor('The two passwords differ');
      await ui.type('a');
      await ui.press(KEY.enter);
      await ui.waitFor('Repeat:');
      await ui.type('a');
      await ui.press(KEY.enter);
      await ui.waitFor('27%');
      gate.release();
      await ui.waitFor('Saved ');
      const codes = ui.rawFrames().flatMap(colourCodes);
      ui.unmount();
      return codes;
    };
    assert.ok((await run()).length > 0, 'control: coloured without NO_COLOR');
    await withNoColor(async () => assert.deepEqual(await run(), []));
  });
});

