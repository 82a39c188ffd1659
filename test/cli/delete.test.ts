import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { create, seedFiles } from '../../src/engine/index.js';
import { runCli, startHeldVerify, tempDir } from '../helpers.js';

const A = 'aico-backup-20260301-101500.tar.zst.enc';
const B = 'aico-backup-20260302-101500.tar.gz';
const C = 'aico-backup-20260303-101500.tar.lz4';

async function backupDir(names: string[]): Promise<string> {
  const dir = tempDir('aico-cli-delete-');
  for (const [i, name] of names.entries()) await fs.writeFile(path.join(dir, name), Buffer.alloc(2048 * (i + 1), 7));
  return dir;
}

const ls = async (dir: string) => (await fs.readdir(dir)).sort();
const events = (stderr: string) => stderr.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('aico backup delete', () => {
  test('--json: several files, one document listing each backup removed; start, item per backup, summary on stderr', async () => {
    const dir = await backupDir([A, B, C]);
    const r = await runCli(['backup', 'delete', path.join(dir, A), path.join(dir, B), '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await ls(dir), [C]);
    assert.deepEqual(
      { ...r.json, duration_ms: 0 },
      {
        ok: true,
        deleted: true,
        dry_run: false,
        backups: [
          { path: path.join(dir, A), name: A, bytes: 2048, deleted: true, dependent: false, readers: [] },
          { path: path.join(dir, B), name: B, bytes: 4096, deleted: true, dependent: false, readers: [] },
        ],
        consolidated: [],
        bytes: 6144,
        duration_ms: 0,
      },
    );
    assert.deepEqual(
      events(r.stderr).map((e) => [e.type, e.op ?? e.action]),
      [
        ['start', 'delete'],
        ['item', 'deleted'],
        ['item', 'deleted'],
        ['summary', 'delete'],
      ],
    );
  });

  test('--dry-run --json lists what would be removed and removes nothing', async () => {
    const dir = await backupDir([A, B]);
    const r = await runCli(['--json', 'backup', 'delete', '--dry-run', path.join(dir, A), path.join(dir, B)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual([r.json.deleted, r.json.dry_run, r.json.bytes], [false, true, 6144]);
    assert.deepEqual(r.json.backups.map((b: any) => [b.name, b.deleted]), [[A, false], [B, false]]);
    assert.deepEqual(events(r.stderr).filter((e) => e.type === 'item').map((e) => e.action), ['would-delete', 'would-delete']);
    assert.deepEqual(await ls(dir), [A, B]);
  });

  test('text output names each file; a dry run says nothing was deleted', async () => {
    const dir = await backupDir([A, B]);
    const dry = await runCli(['backup', 'delete', '--dry-run', path.join(dir, A)]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, `Would delete ${path.join(dir, A)} (2.0 KiB)\nDry run: nothing was deleted.\n`);
    const r = await runCli(['backup', 'delete', path.join(dir, A), path.join(dir, B)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Deleted ${path.join(dir, A)} (2.0 KiB)\nDeleted ${path.join(dir, B)} (4.0 KiB)\nFreed 6.0 KiB in 2 backups.\n`);
    assert.deepEqual(await ls(dir), []);
  });

  test('a file not named like a backup: USAGE, exit 2, and none of the files given is removed', async () => {
    const dir = await backupDir([A, 'notes.txt']);
    const r = await runCli(['backup', 'delete', path.join(dir, A), path.join(dir, 'notes.txt'), '--json']);
    assert.equal(r.code, 2);
    assert.equal(r.json.error.code, 'USAGE');
    assert.match(r.json.error.message, /notes\.txt is not named like an aico-backup archive/);
    assert.deepEqual(await ls(dir), [A, 'notes.txt']);
  });

  test('a missing file is NOT_FOUND (exit 5); no file at all is a usage error (exit 2)', async () => {
    const dir = await backupDir([A]);
    const missing = await runCli(['backup', 'delete', path.join(dir, A), path.join(dir, B), '--json']);
    assert.equal(missing.code, 5);
    assert.equal(missing.json.error.code, 'NOT_FOUND');
    assert.deepEqual(await ls(dir), [A]);
    const none = await runCli(['backup', 'delete', '--json']);
    assert.equal(none.code, 2);
  });

  test('while a create holds the directory lock: LOCKED (exit 6), nothing removed; --dry-run still answers', async () => {
    const dir = await backupDir([A]);
    await fs.writeFile(path.join(dir, '.aico-backup.lock'), JSON.stringify({ pid: process.pid, host: hostname(), op: 'create', started: new Date().toISOString() }));
    const r = await runCli(['backup', 'delete', path.join(dir, A), '--json']);
    assert.equal(r.code, 6);
    assert.equal(r.json.error.code, 'LOCKED');
    assert.match(r.json.error.message, new RegExp(`\\(create, pid ${process.pid} `));
    assert.ok((await ls(dir)).includes(A));
    const dry = await runCli(['backup', 'delete', '--dry-run', path.join(dir, A), '--json']);
    assert.equal(dry.code, 0, dry.stdout);
  });

  test('deleting a backup that `aico backup verify` is reading: delete reports the reader, verify finishes successfully', async () => {
    const dir = tempDir('aico-cli-delete-read-');
    const home = path.join(dir, 'home');
    await seedFiles({ home, sizeMb: 12, seed: 9 });
    const made = await create({ home, outputDir: path.join(dir, 'out'), encrypt: false, compression: 'zstd', compressionLevel: 1, include: ['models', 'cache', 'config'], exclude: [] });
    const file = made.backup.path;

    const verify = await startHeldVerify(file);
    const del = await runCli(['--json', 'backup', 'delete', file]).finally(() => verify.resume());
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(del.json.backups[0].readers.map((p: any) => p.pid), [verify.pid]);
    assert.match(del.json.backups[0].readers[0].command, /backup verify/);
    const warning = events(del.stderr).find((e) => e.type === 'warning');
    assert.equal(warning?.code, 'ARCHIVE_OPEN');
    assert.match(warning.message, new RegExp(`open in pid ${verify.pid} `));
    await assert.rejects(fs.stat(file), { code: 'ENOENT' });

    const { code, stdout, stderr } = await verify.exited;
    assert.equal(code, 0, stderr);
    assert.deepEqual([JSON.parse(stdout).verified, JSON.parse(stdout).problems], [true, []]);
  });
});
