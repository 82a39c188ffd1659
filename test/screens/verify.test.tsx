import { KEY, cleanup, colourCodes, renderApp, withNoColor, type Ui } from '../ui/harness.js';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { AicoError } from '../../src/engine/errors.js';
import { FakeEngine, Gate, MiB, backupEntry } from '../ui/fake-engine.js';

afterEach(cleanup);

const plain = backupEntry(0);
const other = backupEntry(1);

/** Verify holds at 50 % (4 of 8 MiB, reading chromadb) until the gate opens. */
function heldAtHalf(fake: FakeEngine): Gate {
  const gate = new Gate();
  fake.verifySteps = [
    { type: 'phase', phase: 'read', message: 'Reading and checking every file' },
    { wait: 60 },
    { type: 'progress', bytesDone: 2 * MiB, bytesTotal: 8 * MiB, source: 'libsql' },
    { wait: 20 },
    { type: 'progress', bytesDone: 4 * MiB, bytesTotal: 8 * MiB, source: 'chromadb' },
    { hold: gate },
    { type: 'progress', bytesDone: 8 * MiB, bytesTotal: 8 * MiB, source: 'config' },
  ];
  return gate;
}

function engine(): FakeEngine {
  const fake = new FakeEngine();
  fake.backups = [plain, other];
  return fake;
}

async function startVerify(ui: Ui): Promise<void> {
  await ui.waitFor('(2)');
  await ui.press('v');
  await ui.waitFor(`Verify ${plain.path}`);
}

const verifiedColumn = (f: string, entry = plain) => f.split('\n').find((l) => l.includes(entry.created!.replace('T', ' ').slice(0, 19)))!.trim().split(/\s+/).at(-1);

describe('verify screen', () => {
  test('shows a progress bar with percent, throughput, ETA and source, then OK', async () => {
    const fake = engine();
    const gate = heldAtHalf(fake);
    const ui = renderApp(fake);
    await startVerify(ui);
    const f = await ui.waitFor('chromadb');
    assert.match(f, /Reading and checking every file/);
    // 100 columns: a 50-wide bar, half filled.
    assert.match(f, /\[#{25}\.{25}\] 50%/);
    assert.match(f, /4\.0 MiB of 8\.0 MiB · [\d.]+ MiB\/s · ETA \d+:\d\d · chromadb/);
    assert.ok(!f.includes('OK:'));
    assert.match(f, /esc cancel/);
    gate.release();
    const done = await ui.waitFor('OK:');
    assert.match(done, /OK: every segment authenticated, 14 files match their SHA-256 and block hashes\./);
    assert.ok(!done.includes('%]') && !/\[#+/.test(done), 'no progress bar once done');
    assert.match(done, /q back/);
    assert.deepEqual(fake.callsOf('verify').map((o) => [o.path, o.password]), [[plain.path, undefined]]);
    // The list remembers it for this session.
    await ui.press('q');
    assert.equal(verifiedColumn(await ui.waitFor('(2)')), 'ok');
  });

  test('a failed verification lists its problems (ten at most) and marks the backup FAILED', async () => {
    const fake = engine();
    fake.verifyProblems = Array.from({ length: 12 }, (_, i) => ({
      code: 'CHECKSUM_MISMATCH',
      message: `databases/semantic/chunk-${i}.bin does not match its SHA-256 in the manifest.`,
      path: `databases/semantic/chunk-${i}.bin`,
    }));
    const ui = renderApp(fake);
    await startVerify(ui);
    const f = await ui.waitFor('FAILED');
    assert.match(f, /FAILED: 12 problem\(s\)\. Use another copy of this backup\./);
    assert.match(f, /CHECKSUM_MISMATCH: databases\/semantic\/chunk-0\.bin does not match its SHA-256 in the manifest\./);
    assert.match(f, /chunk-9\.bin/);
    assert.ok(!f.includes('chunk-10.bin') && !f.includes('chunk-11.bin'));
    assert.ok(!f.includes('OK:'));
    await ui.press('q');
    assert.equal(verifiedColumn(await ui.waitFor('(2)')), 'FAILED');
  });

  test('damage that stops reading is shown in the error box and marks the backup FAILED', async () => {
    const fake = engine();
    fake.verifyError = new AicoError('CORRUPT_ARCHIVE', 'Segment 3 of the archive failed authentication.', { hint: 'Use another copy of this backup.' });
    const ui = renderApp(fake);
    await startVerify(ui);
    const f = await ui.waitFor('Error (CORRUPT_ARCHIVE)');
    assert.match(f, /Segment 3 of the archive failed authentication\./);
    assert.match(f, /What to do: Use another copy of this backup\./);
    await ui.press('q');
    assert.equal(verifiedColumn(await ui.waitFor('(2)')), 'FAILED');
  });

  test('esc cancels a running verification: "Cancelled" is shown and nothing is recorded', async () => {
    const fake = engine();
    heldAtHalf(fake); // never released: only the abort ends it
    const ui = renderApp(fake);
    await startVerify(ui);
    await ui.waitFor('50%');
    await ui.press(KEY.esc);
    const f = await ui.waitFor('Cancelled');
    assert.match(f, /Cancelled; the backup was not changed\./);
    assert.ok(!f.includes('OK:') && !f.includes('FAILED') && !f.includes('Error ('));
    assert.ok(!/\[#+/.test(f), 'no progress bar after cancelling');
    assert.match(f, /q back/);
    // esc while running cancelled only; it did not also leave the screen.
    assert.ok(f.includes(`Verify ${plain.path}`));
    await ui.press('q');
    assert.equal(verifiedColumn(await ui.waitFor('(2)')), '-');
  });

  test('an encrypted backup: password first, a wrong one is reported and asked again', async () => {
    const fake = engine();
    const enc = backupEntry(2, { encrypted: true });
    fake.backups.push(enc);
    fake.passwords.set(enc.path, 'right one');
    const ui = renderApp(fake);
    await ui.waitFor('(3)');
    await ui.press(KEY.down, KEY.down);
    await ui.waitFor((f) => f.split('\n').some((l) => l.startsWith('>') && l.includes('yes')));
    await ui.press('v');
    await ui.waitFor('Password: ');
    await ui.type('wrong one');
    await ui.press(KEY.enter);
    const f = await ui.waitFor('Error (WRONG_PASSWORD)');
    assert.match(f, /What to do: Check the password/);
    await ui.press('q');
    await ui.waitFor('(3)');
    // The list is remounted with the cursor at the top.
    await ui.press(KEY.down, KEY.down);
    await ui.waitFor((fr) => fr.split('\n').some((l) => l.startsWith('>') && l.includes('yes')));
    await ui.press('v');
    await ui.waitFor('Password: ');
    await ui.type('right one');
    await ui.press(KEY.enter);
    await ui.waitFor('OK:');
    assert.deepEqual(fake.passwordsSeen, ['wrong one', 'right one']);
  });

  test('NO_COLOR=1: progress, OK and FAILED use no colour codes (they are coloured otherwise)', async () => {
    const run = async (problems: boolean) => {
      const fake = engine();
      const gate = heldAtHalf(fake);
      if (problems) fake.verifyProblems = [{ code: 'MISSING_ENTRY', message: 'config/core.yaml is listed in the manifest but missing.', path: 'config/core.yaml' }];
      const ui = renderApp(fake);
      await startVerify(ui);
      await ui.waitFor('50%');
      gate.release();
      await ui.waitFor(problems ? 'FAILED' : 'OK:');
      const codes = ui.rawFrames().flatMap(colourCodes);
      ui.unmount();
      return codes;
    };
    assert.ok((await run(false)).length > 0, 'control: coloured without NO_COLOR');
    await withNoColor(async () => {
      assert.deepEqual(await run(false), []);
      assert.deepEqual(await run(true), []);
    });
  });
});
