import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { acquireDirLock, create, LOCK_NAME, seedFiles, verify, type CreateOptions } from '../../../src/engine/index.js';
import { runCli, tempDir } from '../../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');
const options = (outputDir: string, over: Partial<CreateOptions> = {}): CreateOptions => ({
  home, outputDir, encrypt: false, compression: 'zstd', compressionLevel: 1, include: ['config', 'cache'], exclude: [], ...over,
});
const cliCreate = (out: string) => runCli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '--include', 'config', '--output', out]);

before(async () => {
  await seedFiles({ home, sizeMb: 2, seed: 4 });
});

describe('create under a lock its caller holds', () => {
  test('two creates under one held lock both succeed; another process is kept out the whole time', async () => {
    const out = path.join(dir, 'held');
    await fs.mkdir(out, { mode: 0o700 });
    const lock = await acquireDirLock(out, 'schedule');
    const [first, outsider] = await Promise.all([create(options(out, { lock })), cliCreate(out)]);
    assert.equal(outsider.code, 6, outsider.stdout);
    assert.equal(outsider.json.error.code, 'LOCKED');
    assert.match(outsider.json.error.message, new RegExp(`schedule, pid ${process.pid}`));

    const second = await create(options(out, { lock }));
    assert.notEqual(second.backup.path, first.backup.path);
    // The lock is still the caller's after both: this process and any other are kept out until it is released.
    assert.equal(JSON.parse(await fs.readFile(path.join(out, LOCK_NAME), 'utf8')).pid, process.pid);
    await assert.rejects(create(options(out)), (e: any) => e.code === 'LOCKED');
    assert.equal((await cliCreate(out)).code, 6);

    for (const r of [first, second]) {
      const v = await verify({ path: r.backup.path });
      assert.deepEqual([v.ok, v.problems], [true, []]);
    }
    assert.deepEqual((await fs.readdir(out)).sort(), [LOCK_NAME, path.basename(first.backup.path), path.basename(second.backup.path)].sort());

    await lock.release();
    await assert.rejects(fs.stat(path.join(out, LOCK_NAME)), { code: 'ENOENT' });
    const after = await cliCreate(out);
    assert.equal(after.code, 0, after.stdout);
  });

  test('a held lock of another directory, or one no longer held, is refused before anything is written', async () => {
    const out = path.join(dir, 'mismatch');
    const other = path.join(dir, 'other');
    await fs.mkdir(out, { mode: 0o700 });
    await fs.mkdir(other, { mode: 0o700 });
    const otherLock = await acquireDirLock(other, 'schedule');
    await assert.rejects(create(options(out, { lock: otherLock })), (e: any) => e.code === 'INTERNAL' && e.message.includes(other));
    await otherLock.release();

    const lock = await acquireDirLock(out, 'schedule');
    await fs.rm(path.join(out, LOCK_NAME));
    await assert.rejects(create(options(out, { lock })), (e: any) => e.code === 'LOCKED' && /no longer held/.test(e.message));
    assert.deepEqual(await fs.readdir(out), []);
  });

  test('create that takes its own lock still releases it, on success and on failure', async () => {
    const out = path.join(dir, 'own');
    await create(options(out));
    // No parent to build on (the full backup is not encrypted, this one would be) fails the create after it took the lock.
    await assert.rejects(
      create(options(out, { backupType: 'incremental', encrypt: true, password: async () => Buffer.from('pw'), kdfIterations: 1000 })),
      (e: any) => e.code === 'NO_PARENT',
    );
    assert.deepEqual((await fs.readdir(out)).filter((n) => n === LOCK_NAME), []);
  });
});
