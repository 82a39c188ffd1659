// A prepared restore (the terminal UI's preview, then y): prepare reads,
// verifies, stages and validates once; commit swaps that staging in without
// reading the archive again, unless the archive file or the target changed
// meanwhile; discard leaves the target as it was. On plain-file homes
// (models, cache, config), so no database engine is started.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import type { EngineEvent } from '../../../src/engine/events.js';
import { isAicoError } from '../../../src/engine/errors.js';
import { LOCK_NAME } from '../../../src/engine/fsutil/lock.js';
import { create } from '../../../src/engine/ops/create.js';
import { prepareRestore, restore, type RestoreOptions } from '../../../src/engine/ops/restore.js';
import { seedFiles } from '../../../src/engine/sample/seed.js';
import { tempDir, treeHashes } from '../../helpers.js';

const dir = tempDir('aico-prepared-');
const at = (...p: string[]) => path.join(dir, ...p);
const ENV = { ...process.env, XDG_STATE_HOME: at('state') };
let ARCHIVE = '';
let SOURCE: Record<string, string> = {};
let OLD: Record<string, string> = {};

before(async () => {
  await seedFiles({ home: at('source'), sizeMb: 2, seed: 42 });
  const made = await create({ home: at('source'), outputDir: at('backups'), encrypt: false, compression: 'zstd', compressionLevel: 3, include: ['models', 'cache', 'config'], exclude: [] });
  ARCHIVE = made.backup.path;
  SOURCE = await treeHashes(at('source'));
  await seedFiles({ home: at('old'), sizeMb: 2, seed: 7 });
  await fs.appendFile(at('old', 'config', 'runtime.yaml'), '# the old config\n');
  OLD = await treeHashes(at('old'));
});

let targets = 0;
/** A fresh copy of the old home, to restore into in place. */
async function oldHome(): Promise<string> {
  const home = at(`home-${++targets}`);
  await fs.cp(at('old'), home, { recursive: true });
  return home;
}

const options = (home: string, over: Partial<RestoreOptions> = {}): RestoreOptions => ({ path: ARCHIVE, home, safetyBackupDir: at(`safety-${targets}`), env: ENV, ...over });

/** A log of the events a context sees; phases() are the restore's own, not those of the operations it runs inside it. */
function recorder() {
  const events: EngineEvent[] = [];
  return { events, phases: () => events.flatMap((e) => (e.type === 'phase' && !e.parent ? [e.phase] : [])), ctx: { onEvent: (e: EngineEvent) => events.push(e) } };
}

/** The target without aico-backup's own files (audit log, lock, staging). */
const userFiles = async (home: string) => Object.fromEntries(Object.entries(await treeHashes(home)).filter(([p]) => !p.startsWith('data/logs/') && !p.startsWith('.aico-')));
const bookkeeping = async (home: string) => (await fs.readdir(home)).filter((n) => n.startsWith('.aico-'));

describe('prepared restore', () => {
  test('commit swaps in what prepare staged, without reading or staging the archive again', async () => {
    const home = await oldHome();
    const archive = at('overwritten.tar.zst');
    await fs.copyFile(ARCHIVE, archive);
    // A whole second, which utimes can set again exactly.
    const mtime = new Date('2026-11-29T03:15:00Z');
    await fs.utimes(archive, mtime, mtime);
    const prep = recorder();
    const prepared = await prepareRestore(options(home, { path: archive }), prep.ctx);
    assert.deepEqual(prep.phases().filter((p) => p === 'stage' || p === 'validate'), ['stage', 'validate']);
    assert.ok(prep.events.some((e) => e.type === 'progress'), 'prepare reads the archive');
    assert.equal(prepared.preview.dryRun, true);
    assert.deepEqual(prepared.preview.units.map((u) => [u.name, u.action]).sort(), [['cache', 'replace'], ['config', 'replace'], ['models', 'replace']]);
    assert.deepEqual(await userFiles(home), OLD, 'nothing changed before commit');
    assert.deepEqual((await bookkeeping(home)).sort(), [LOCK_NAME, `.aico-restore.${process.pid}.partial`].sort(), 'the lock and the verified staging wait for commit');

    // The archive is overwritten in place with the same size and mtime, which stat cannot tell apart:
    // a commit that read it again would fail its verification; one that uses the staging restores the backup.
    const size = (await fs.stat(archive)).size;
    const handle = await fs.open(archive, 'r+');
    await handle.write(Buffer.alloc(size - 200, 0x5a), 0, size - 200, 100);
    await handle.close();
    await fs.utimes(archive, mtime, mtime);

    const done = recorder();
    const result = await prepared.commit(done.ctx);
    assert.deepEqual(done.phases(), ['archive', 'swap'], 'commit only saves what it replaces and swaps: no header, stage or validate phase');
    assert.ok(!done.events.some((e) => e.type === 'progress' && e.op !== 'create'), 'no archive bytes are read (the only progress is the safety backup\'s)');
    assert.ok(!done.events.some((e) => e.op === 'verify'), 'no verification runs again');
    assert.equal(result.dryRun, false);
    assert.deepEqual(result.units, prepared.preview.units, 'the result is what the preview said');
    assert.deepEqual(await userFiles(home), SOURCE, 'the home is the backed-up one, byte for byte');
    assert.deepEqual(await bookkeeping(home), [], 'no staging, journal, old copies or lock left');
    assert.ok(result.safetyBackup && (await fs.stat(result.safetyBackup)).size > 0);
  });

  test('restore() is prepare and commit in one: every phase once, the same result', async () => {
    const home = await oldHome();
    const r = recorder();
    const result = await restore(options(home), r.ctx);
    const prep = recorder();
    await (await prepareRestore(options(await oldHome()), prep.ctx)).discard();
    assert.deepEqual(r.phases(), [...prep.phases(), 'archive', 'swap']);
    assert.equal(r.phases().filter((p) => p === 'stage').length, 1);
    const restoreEvents = r.events.filter((e) => (e.type === 'start' || e.type === 'summary') && e.op === 'restore');
    assert.deepEqual(restoreEvents.map((e) => e.type), ['start', 'summary']);
    assert.deepEqual(await userFiles(home), SOURCE);
    assert.deepEqual(await bookkeeping(home), []);
    assert.ok(result.safetyBackup);
  });

  for (const [change, how] of [
    ['its modification time changed', (file: string) => fs.utimes(file, new Date(), new Date(Date.now() + 5_000))],
    ['it grew', (file: string) => fs.appendFile(file, Buffer.from([0]))],
    ['another file took its name', async (file: string) => {
      await fs.copyFile(file, `${file}.new`);
      await fs.rename(`${file}.new`, file);
    }],
    ['it was deleted', (file: string) => fs.rm(file)],
  ] as const) {
    test(`the archive changed between prepare and commit (${change}): refused, target untouched, nothing left`, async () => {
      const home = await oldHome();
      const archive = at(`changed-${targets}.tar.zst`);
      await fs.copyFile(ARCHIVE, archive);
      const prepared = await prepareRestore(options(home, { path: archive }));
      await how(archive);
      await assert.rejects(prepared.commit(), (e) => {
        assert.ok(isAicoError(e, 'IO_ERROR'), String(e));
        assert.match(e.message, /changed after it was read and checked/);
        assert.match(e.message, /Nothing was changed/);
        return true;
      });
      assert.deepEqual(await userFiles(home), OLD);
      assert.deepEqual(await bookkeeping(home), [], 'staging removed and lock released');
      assert.deepEqual(await fs.readdir(at(`safety-${targets}`)).catch(() => []), [], 'no safety backup was written');
      const audit = (await fs.readFile(at('state', 'aico-backup', 'backup-audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(audit.some((l) => l.target === home && l.result === 'failed: IO_ERROR'), 'the refused commit is audited');
      await assert.rejects(prepared.commit(), (e) => isAicoError(e, 'INTERNAL'), 'a prepared restore commits once');
    });
  }

  test('the target changed between prepare and commit (a unit to be added appeared): refused, the new data kept', async () => {
    const home = await oldHome();
    await fs.rm(path.join(home, 'cache'), { recursive: true });
    const prepared = await prepareRestore(options(home));
    assert.equal(prepared.preview.units.find((u) => u.name === 'cache')?.action, 'add');
    await fs.mkdir(path.join(home, 'cache'));
    await fs.writeFile(path.join(home, 'cache', 'written-meanwhile.log'), 'not in any backup');
    const before = await userFiles(home);
    await assert.rejects(prepared.commit(), (e) => {
      assert.ok(isAicoError(e, 'IO_ERROR'), String(e));
      assert.match(e.message, /changed since this restore was checked: cache would now be replace instead of add/);
      return true;
    });
    assert.deepEqual(await userFiles(home), before, 'nothing replaced, the file written meanwhile is there');
    assert.deepEqual(await bookkeeping(home), []);
  });

  test('a merge whose config file appeared in the target meanwhile is refused rather than overwrite it', async () => {
    const home = await oldHome();
    await fs.rm(path.join(home, 'config', 'models.yaml'));
    await fs.rm(path.join(home, 'config', 'user_preferences.json'));
    const prepared = await prepareRestore(options(home, { merge: true, safetyBackupDir: null }));
    assert.equal(prepared.preview.units.find((u) => u.name === 'config')?.action, 'merge');
    await fs.writeFile(path.join(home, 'config', 'models.yaml'), 'models: {}\n');
    await assert.rejects(prepared.commit(), (e) => isAicoError(e, 'IO_ERROR') && /config\/models\.yaml/.test(e.message));
    assert.equal(await fs.readFile(path.join(home, 'config', 'models.yaml'), 'utf8'), 'models: {}\n');
    assert.deepEqual(await bookkeeping(home), []);
  });

  test('discard leaves the target as it was and nothing behind; while prepared, the target is held', async () => {
    const home = await oldHome();
    const prepared = await prepareRestore(options(home));
    await assert.rejects(restore(options(home)), (e) => isAicoError(e, 'LOCKED'), 'another restore waits for the prepared one');
    await prepared.discard();
    await prepared.discard();
    assert.deepEqual(await treeHashes(home), OLD, 'byte for byte as before, no bookkeeping files');
    await assert.rejects(prepared.commit(), (e) => isAicoError(e, 'INTERNAL'));
    assert.deepEqual(await treeHashes(home), OLD);
    await restore(options(home));
    assert.deepEqual(await userFiles(home), SOURCE, 'the target is free again');
  });

  test('a new target directory made by prepare is removed again by discard', async () => {
    const target = at('new-target', 'inner');
    const prepared = await prepareRestore(options(at('old'), { target }));
    assert.deepEqual(prepared.preview.units.map((u) => u.action), ['add', 'add', 'add']);
    await prepared.discard();
    assert.equal(await fs.stat(at('new-target')).then(() => true, () => false), false);
  });

  test('a home an interrupted restore left half swapped is refused, not recovered, by prepare', async () => {
    const home = await oldHome();
    await fs.writeFile(path.join(home, '.aico-restore.journal'), JSON.stringify({ pid: 999999, state: 'swapping', aside: '.aico-restore.999999.old', entries: [], cleanup: [] }));
    await assert.rejects(prepareRestore(options(home)), (e) => isAicoError(e, 'HOME_INCOMPLETE'));
    assert.equal(await fs.stat(path.join(home, '.aico-restore.journal')).then(() => true, () => false), true);
  });
});
