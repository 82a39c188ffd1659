import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { create, list, seedFiles, verify, type CreateOptions, type DeltaProducer, type DeltaRequest } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');
const base = (outputDir: string, over: Partial<CreateOptions> = {}): CreateOptions => ({
  home, outputDir, encrypt: false, compression: 'none', compressionLevel: 3, include: ['config', 'cache'], exclude: [], ...over,
});

before(async () => {
  await seedFiles({ home, sizeMb: 1, seed: 9 });
});

/**
 * Stands in for the delta feature: each file becomes an entry produced while
 * the archive is written, here a line naming the parent plus the file's first
 * block, so what reached the archive can be told apart from the file.
 */
function fakeDelta(parentId: string) {
  const seen: { requests: Omit<DeltaRequest, 'signal'>[]; closed: number } = { requests: [], closed: 0 };
  const producer: DeltaProducer = {
    async open({ signal: _signal, ...request }) {
      seen.requests.push(request);
      return {
        parentId,
        entryFor: (file) => ({
          source: file.source, archivePath: file.archivePath, mode: file.mode, mtime: file.mtime, progressBytes: file.size,
          async *produce() {
            yield Buffer.from(`delta against ${parentId}\n`);
            const handle = await fs.open(file.absPath);
            try {
              const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
              yield buffer.subarray(0, bytesRead);
            } finally {
              await handle.close();
            }
          },
        }),
        async close() {
          seen.closed++;
        },
      };
    },
  };
  return { producer, seen };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('create: backup type and parent', () => {
  test('a full backup says so in its result and metadata, with no parent', async () => {
    const r = await create(base(path.join(dir, 'full')));
    assert.deepEqual([r.backup.type, r.backup.parent_id], ['full', null]);
    const into = path.join(dir, 'x-full');
    await fs.mkdir(into);
    execFileSync('tar', ['-xf', r.backup.path, '-C', into]);
    const metadata = JSON.parse(await fs.readFile(path.join(into, 'metadata.json'), 'utf8'));
    assert.deepEqual([metadata.backup_type, metadata.parent_id], ['full', null]);
  });

  for (const type of ['incremental', 'differential'] as const) {
    test(`${type} without the delta producer is refused: USAGE, no password asked, nothing written`, async () => {
      const out = path.join(dir, `no-delta-${type}`);
      let asked = 0;
      await assert.rejects(
        create(base(out, { backupType: type, parent: '/somewhere/aico-backup-20260101-000000.tar', encrypt: true, password: async () => (asked++, Buffer.from('pw')) })),
        (e: any) => e.code === 'USAGE' && new RegExp(`cannot make ${type} backups yet; it writes full backups only`).test(e.message) && /Leave out the backup type/.test(e.hint),
      );
      assert.equal(asked, 0);
      await assert.rejects(fs.stat(out), { code: 'ENOENT' });
    });
  }

  test('a full backup with a parent, or an unknown type, is refused with USAGE', async () => {
    const out = path.join(dir, 'bad-type');
    await assert.rejects(create(base(out, { parent: 'abc' })), (e: any) => e.code === 'USAGE' && /A full backup builds on no other backup/.test(e.message));
    await assert.rejects(create(base(out, { backupType: 'weekly' as never })), (e: any) => e.code === 'USAGE' && /Unknown backup type "weekly"/.test(e.message));
    await assert.rejects(fs.stat(out), { code: 'ENOENT' });
  });

  test('with a delta producer: type and parent_id in metadata, result, header and list; the produced bytes are what is stored', async () => {
    const out = path.join(dir, 'incremental');
    const { producer, seen } = fakeDelta('11111111-2222-4333-8444-555555555555');
    const r = await create(base(out, { backupType: 'incremental', parent: 'aico-backup-20260101-000000.tar', delta: producer }));
    assert.deepEqual([r.backup.type, r.backup.parent_id], ['incremental', '11111111-2222-4333-8444-555555555555']);
    assert.deepEqual(seen.requests, [{ type: 'incremental', parent: 'aico-backup-20260101-000000.tar', outputDir: out, password: null }]);
    assert.equal(seen.closed, 1);

    const into = path.join(dir, 'x-incremental');
    await fs.mkdir(into);
    execFileSync('tar', ['-xf', r.backup.path, '-C', into]);
    const metadata = JSON.parse(await fs.readFile(path.join(into, 'metadata.json'), 'utf8'));
    assert.deepEqual([metadata.backup_type, metadata.parent_id], ['incremental', '11111111-2222-4333-8444-555555555555']);
    const first = Buffer.alloc(4096);
    const source = await fs.open(path.join(home, 'cache', 'messages.log'));
    const { bytesRead } = await source.read(first, 0, 4096, 0);
    await source.close();
    const expected = Buffer.concat([Buffer.from('delta against 11111111-2222-4333-8444-555555555555\n'), first.subarray(0, bytesRead)]);
    assert.equal(sha(await fs.readFile(path.join(into, 'extras', 'cache', 'messages.log'))), sha(expected));
    const v = await verify({ path: r.backup.path });
    assert.deepEqual([v.ok, v.problems], [true, []]);
    const [entry] = (await list({ dir: out })).backups;
    assert.deepEqual([entry!.type, entry!.parent_id], ['incremental', '11111111-2222-4333-8444-555555555555']);
    assert.deepEqual((await fs.readdir(out)).filter((n) => n !== path.basename(r.backup.path)), [], 'no staging, spool or lock left');
  });

  test('encrypted differential: the producer gets the password; the public header carries type and parent', async () => {
    const out = path.join(dir, 'differential');
    const { producer, seen } = fakeDelta('99999999-2222-4333-8444-555555555555');
    const r = await create(base(out, { backupType: 'differential', delta: producer, encrypt: true, password: async () => Buffer.from('pw'), kdfIterations: 1000 }));
    assert.equal(seen.requests[0]!.parent, null);
    assert.equal(seen.requests[0]!.type, 'differential');
    assert.ok(seen.requests[0]!.password, 'the password reached the producer');
    const [entry] = (await list({ dir: out })).backups;
    assert.deepEqual([entry!.encrypted, entry!.type, entry!.parent_id], [true, 'differential', '99999999-2222-4333-8444-555555555555']);
    assert.equal(r.backup.parent_id, '99999999-2222-4333-8444-555555555555');
  });

  test('a parent that cannot be opened fails the create and leaves nothing behind', async () => {
    const out = path.join(dir, 'bad-parent');
    const producer: DeltaProducer = {
      open: async () => {
        throw Object.assign(new Error('no such parent'), { code: 'NOT_FOUND' });
      },
    };
    await assert.rejects(create(base(out, { backupType: 'incremental', parent: 'nope', delta: producer })), /no such parent/);
    assert.deepEqual(await fs.readdir(out), []);
  });
});
