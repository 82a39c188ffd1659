// What a restore reports: its own events, and those of the operations it runs
// inside it (the verification while it stages, the pre-restore safety backup),
// which reach the caller marked with `op` (the inner operation) and `parent`
// ("restore"), so a --json consumer or the terminal UI can tell them apart.
// On plain-file homes (models, cache, config), so no database engine starts.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { EngineEvent } from '../../../src/engine/events.js';
import { create } from '../../../src/engine/ops/create.js';
import { restore } from '../../../src/engine/ops/restore.js';
import { seedFiles } from '../../../src/engine/sample/seed.js';
import { runCli, tempDir } from '../../helpers.js';


const dir = tempDir('aico-restore-events-');
const at = (...p: string[]) => path.join(dir, ...p);
const ENV = { ...process.env, XDG_STATE_HOME: at('state') };
let ARCHIVE = '';
/** Bytes of the units the restore replaces (models, cache, config), as they are in the old home. */
let REPLACED_BYTES = 0;

async function sizeOf(p: string): Promise<number> {
  const st = await fs.stat(p);
  if (!st.isDirectory()) return st.size;
  let sum = 0;
  for (const name of await fs.readdir(p)) sum += await sizeOf(path.join(p, name));
  return sum;
}

before(async () => {
  await seedFiles({ home: at('source'), sizeMb: 2, seed: 42 });
  const made = await create({ home: at('source'), outputDir: at('backups'), encrypt: false, compression: 'zstd', compressionLevel: 3, include: ['models', 'cache', 'config'], exclude: [] });
  ARCHIVE = made.backup.path;
  await seedFiles({ home: at('old'), sizeMb: 3, seed: 7 });
  for (const unit of ['models', 'cache', 'config']) REPLACED_BYTES += await sizeOf(at('old', unit));
});

let homes = 0;
async function oldHome(): Promise<string> {
  const home = at(`home-${++homes}`);
  await fs.cp(at('old'), home, { recursive: true });
  return home;
}

/** Where in `events` the restore's own phase `phase` is. */
const ownPhase = (events: EngineEvent[], phase: string) => events.findIndex((e) => e.type === 'phase' && e.phase === phase && !e.parent);

describe('a restore passes on the events of the operations it runs, marked as theirs', () => {
  test('its own events carry no parent; the verification\'s and the safety backup\'s carry op and parent, each within its phase', async () => {
    const events: EngineEvent[] = [];
    const result = await restore({ path: ARCHIVE, home: await oldHome(), safetyBackupDir: at('safety'), env: ENV }, { onEvent: (e) => events.push(e) });
    assert.ok(result.safetyBackup);

    const own = events.filter((e) => !e.parent);
    assert.deepEqual(own.map((e) => (e.type === 'phase' ? e.phase : `${e.type}${'op' in e ? ` ${e.op}` : ''}`)), ['start restore', 'header', 'stage', 'validate', 'archive', 'swap', 'summary restore']);
    const nested = events.filter((e) => e.parent);
    assert.deepEqual([...new Set(nested.map((e) => `${e.op} in ${e.parent}`))].sort(), ['create in restore', 'verify in restore']);

    // The verification while staging: one start and one summary, its progress, all between "stage" and "validate".
    const verifying = events.flatMap((e, i) => (e.op === 'verify' && e.parent === 'restore' ? [i] : []));
    assert.ok(verifying.every((i) => i > ownPhase(events, 'stage') && i < ownPhase(events, 'validate')));
    const verify = verifying.map((i) => events[i]!);
    assert.deepEqual([verify[0]!.type, verify.at(-1)!.type], ['start', 'summary']);
    assert.ok(verify.some((e) => e.type === 'progress'));

    // The safety backup is no longer a silent phase: its progress reaches the caller, up to every byte it saves.
    const saving = events.flatMap((e, i) => (e.op === 'create' && e.parent === 'restore' ? [i] : []));
    assert.ok(saving.every((i) => i > ownPhase(events, 'archive') && i < ownPhase(events, 'swap')), 'between the restore\'s own "archive" and "swap" phases');
    const create = saving.map((i) => events[i]!);
    assert.deepEqual([create[0]!.type, create.at(-1)!.type], ['start', 'summary']);
    const progress = create.filter((e): e is Extract<EngineEvent, { type: 'progress' }> => e.type === 'progress');
    assert.ok(progress.length > 0, 'the safety backup reports progress');
    assert.deepEqual([progress.at(-1)!.bytesDone, progress.at(-1)!.bytesTotal], [REPLACED_BYTES, REPLACED_BYTES]);
  });

  test('--json: the nested events are JSON lines on stderr with op and parent; the last line is the restore\'s own summary', async () => {
    const home = await oldHome();
    const r = await runCli(['--home', home, '--json', 'backup', 'restore', ARCHIVE, '-o', at('safety-cli')], { env: ENV });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((e) => e.type === 'progress' && e.op === 'create' && e.parent === 'restore'), 'the safety backup\'s progress');
    assert.ok(lines.some((e) => e.type === 'summary' && e.op === 'verify' && e.parent === 'restore' && e.ok === true), 'the verification\'s summary');
    assert.deepEqual(lines.filter((e) => e.type === 'summary' && !e.parent).map((e) => e.op), ['restore']);
    assert.deepEqual({ ...lines.at(-1), durationMs: 0 }, { type: 'summary', op: 'restore', ok: true, durationMs: 0 });
  });
});
