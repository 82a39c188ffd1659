import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { create, deleteBackups, isAicoError, seedFiles, type EngineEvent } from '../../../src/engine/index.js';
import { startHeldVerify, tempDir } from '../../helpers.js';

const LOCK = '.aico-backup.lock';
const A = 'aico-backup-20260301-101500.tar.zst.enc';
const B = 'aico-backup-20260302-101500-2.tar.gz';
const C = 'aico-backup-20260303-101500-pre-restore.tar';

/** delete never reads an archive's bytes, so files that are only named like backups do. */
async function backupDir(names: string[], bytes = 1000): Promise<string> {
  const dir = tempDir('aico-delete-');
  for (const [i, name] of names.entries()) await fs.writeFile(path.join(dir, name), Buffer.alloc(bytes + i, i));
  return dir;
}

const ls = async (dir: string) => (await fs.readdir(dir)).sort();

/** A lock as a running create in `dir` writes it (a live pid on this host). */
const foreignLock = (dir: string) =>
  fs.writeFile(path.join(dir, LOCK), JSON.stringify({ pid: process.ppid, host: hostname(), op: 'create', started: new Date().toISOString() }));

describe('deleteBackups', () => {
  test('deletes several backups in one directory: start, one item per backup, summary; nothing else in the directory is touched', async () => {
    const dir = await backupDir([A, B, C, 'notes.txt', `${A}.${process.pid}.partial`]);
    const events: EngineEvent[] = [];
    const r = await deleteBackups({ paths: [path.join(dir, B), path.join(dir, A)] }, { onEvent: (e) => events.push(e) });

    assert.deepEqual(await ls(dir), [C, `${A}.${process.pid}.partial`, 'notes.txt'].sort());
    assert.equal(r.dryRun, false);
    assert.deepEqual(
      r.backups.map((b) => [b.name, b.bytes, b.deleted]),
      [
        [B, 1001, true],
        [A, 1000, true],
      ],
    );
    assert.equal(r.bytes, 2001);
    assert.deepEqual(
      events.filter((e) => e.type !== 'warning'),
      [
        { type: 'start', op: 'delete' },
        { type: 'item', source: 'archive', path: path.join(dir, B), bytes: 1001, action: 'deleted' },
        { type: 'item', source: 'archive', path: path.join(dir, A), bytes: 1000, action: 'deleted' },
        { type: 'summary', op: 'delete', ok: true, durationMs: r.durationMs, bytes: 2001 },
      ],
    );
  });

  test('backups in two directories are deleted under each directory\'s lock, and both locks are released', async () => {
    const one = await backupDir([A, B]);
    const two = await backupDir([C]);
    const r = await deleteBackups({ paths: [path.join(two, C), path.join(one, A), path.join(one, A)] });
    assert.deepEqual(r.backups.map((b) => b.path), [path.join(two, C), path.join(one, A)], 'a path given twice is deleted once');
    assert.deepEqual(await ls(one), [B]);
    assert.deepEqual(await ls(two), []);
  });

  test('--dry-run lists what would go, removes nothing, and takes no lock (it works while a create holds one)', async () => {
    const dir = await backupDir([A, B]);
    await foreignLock(dir);
    const dead = `${C}.999999999.partial`;
    await fs.writeFile(path.join(dir, dead), 'a dead writer\'s partial file');
    const before = await ls(dir);
    const events: EngineEvent[] = [];
    const r = await deleteBackups({ paths: [path.join(dir, A), path.join(dir, B)], dryRun: true }, { onEvent: (e) => events.push(e) });
    assert.equal(r.dryRun, true);
    assert.deepEqual(r.backups.map((b) => [b.name, b.deleted]), [[A, false], [B, false]]);
    assert.equal(r.bytes, 2001);
    assert.deepEqual(events.filter((e) => e.type === 'item').map((e) => e.type === 'item' && e.action), ['would-delete', 'would-delete']);
    assert.deepEqual(await ls(dir), before, 'nothing removed, not even the dead partial file a lock would clean up');
  });

  test('one name that is not a backup refuses the whole delete before anything is removed', async () => {
    const dir = await backupDir([A, B, 'notes.txt', `${A}.${process.pid}.partial`, `${A}.${process.pid}.blocks.partial`]);
    for (const bad of ['notes.txt', `${A}.${process.pid}.partial`, `${A}.${process.pid}.blocks.partial`, LOCK]) {
      const events: EngineEvent[] = [];
      await assert.rejects(
        deleteBackups({ paths: [path.join(dir, A), path.join(dir, bad), path.join(dir, B)] }, { onEvent: (e) => events.push(e) }),
        (e: unknown) => isAicoError(e, 'USAGE') && e.message.includes(`${bad} is not named like an aico-backup archive`),
      );
      assert.ok(!events.some((e) => e.type === 'item'), 'no item reported');
    }
    assert.deepEqual(await ls(dir), [A, B, 'notes.txt', `${A}.${process.pid}.partial`, `${A}.${process.pid}.blocks.partial`].sort());
  });

  test('a missing backup is NOT_FOUND and the others stay', async () => {
    const dir = await backupDir([A]);
    await assert.rejects(deleteBackups({ paths: [path.join(dir, A), path.join(dir, C)] }), (e: unknown) => isAicoError(e, 'NOT_FOUND'));
    assert.deepEqual(await ls(dir), [A]);
  });

  test('a symlink or a directory named like a backup is refused, and what it points to stays', async () => {
    const dir = await backupDir([A]);
    await fs.symlink(path.join(dir, A), path.join(dir, B));
    await fs.mkdir(path.join(dir, C));
    for (const name of [B, C]) {
      await assert.rejects(deleteBackups({ paths: [path.join(dir, name)] }), (e: unknown) => isAicoError(e, 'USAGE') && /not a regular file/.test(e.message));
    }
    assert.deepEqual(await ls(dir), [A, B, C].sort());
    assert.equal((await fs.lstat(path.join(dir, B))).isSymbolicLink(), true);
  });

  test('a create holding the lock of one of two directories: LOCKED, nothing deleted in either, no lock left behind', async () => {
    const one = await backupDir([A]);
    const two = await backupDir([B]);
    await foreignLock(two);
    await assert.rejects(deleteBackups({ paths: [path.join(one, A), path.join(two, B)] }), (e: unknown) => isAicoError(e, 'LOCKED'));
    assert.deepEqual(await ls(one), [A], "the first directory's lock was released");
    assert.deepEqual(await ls(two), [B, LOCK].sort());
  });

  test('a cancelled delete removes nothing more and says how many it removed', async () => {
    const dir = await backupDir([A, B]);
    const controller = new AbortController();
    await assert.rejects(
      deleteBackups({ paths: [path.join(dir, A), path.join(dir, B)] }, { signal: controller.signal, onEvent: (e) => e.type === 'item' && controller.abort() }),
      (e: unknown) => isAicoError(e, 'CANCELLED') && /after deleting 1 of 2/.test(e.message) && (e.details?.deleted as string[])[0] === path.join(dir, A),
    );
    assert.deepEqual(await ls(dir), [B], 'the second backup is whole');
  });

  test('a backup that verify (another process) is reading is deleted and reported; verify reads its open file to the end and succeeds', async () => {
    const dir = tempDir('aico-delete-read-');
    const home = path.join(dir, 'home');
    await seedFiles({ home, sizeMb: 24, seed: 5 });
    const made = await create({ home, outputDir: path.join(dir, 'out'), encrypt: false, compression: 'lz4', compressionLevel: 1, include: ['models', 'cache', 'config'], exclude: [] });
    const file = made.backup.path;

    // Held mid-file: the delete then happens while it holds the archive open, whatever the machine's speed.
    const child = await startHeldVerify(file);

    const warnings: EngineEvent[] = [];
    const r = await deleteBackups({ paths: [file] }, { onEvent: (e) => e.type === 'warning' && warnings.push(e) }).finally(() => child.resume());

    await assert.rejects(fs.stat(file), { code: 'ENOENT' });
    assert.deepEqual(r.backups[0]!.readers?.map((p) => p.pid), [child.pid]);
    assert.match(r.backups[0]!.readers![0]!.command, /backup verify/);
    assert.equal(warnings.length, 1);
    assert.match((warnings[0] as { message: string }).message, new RegExp(`is open in pid ${child.pid} .*deleted anyway`));
    const { code, stdout, stderr } = await child.exited;
    assert.equal(code, 0, stderr);
    const doc = JSON.parse(stdout);
    assert.equal(doc.verified, true);
    assert.deepEqual(doc.problems, []);
    assert.equal(doc.bytes, made.backup.bytes);
  });
});
