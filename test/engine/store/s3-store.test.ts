import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { AicoError } from '../../../src/engine/errors.js';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { create, verify, type EngineEvent } from '../../../src/engine/index.js';
import { S3Store } from '../../../src/engine/store/index.js';
import { tempDir } from '../../helpers.js';
import { closeConnections } from '../../../src/engine/store/s3-client.js';
import { startS3, type TestS3 } from '../../s3-server.js';

const s3: TestS3 = await startS3();
const root = tempDir('aico-s3-engine-');
after(closeConnections);

describe('an incremental whose parent is in a bucket', () => {
  test('reads the parent\'s header, manifest and block index by ranged GETs: a small part of the parent, never all of it', async () => {
    // As the CLI has them: the S3 settings of this process's environment.
    Object.assign(process.env, s3.env, { XDG_CACHE_HOME: path.join(root, 'cache') });
    const home = path.join(root, 'home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'big.bin'), randomBytes(24 << 20));
    await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'backup: {}\n');
    const base = { home, outputDir: 's3://backups/ranged', encrypt: true, password: async () => Buffer.from('ranged-pw'), kdfIterations: 1000, compression: 'zstd' as const, compressionLevel: 1, include: ['config'], exclude: [] };
    const full = await create(base);
    const parentBytes = full.backup.bytes;
    await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'backup: {encrypt: true}\n');
    const fetched: number[] = [];
    const original = S3Store.prototype.getRange;
    S3Store.prototype.getRange = async function (this: S3Store, name: string, start: number, end: number) {
      fetched.push(end - start + 1);
      return original.call(this, name, start, end);
    };
    try {
      const inc = await create({ ...base, backupType: 'incremental' });
      assert.equal(inc.backup.parent_id, full.backup.id);
      assert.ok(inc.backup.stored_bytes < 64 * 1024, `stored ${inc.backup.stored_bytes}`);
    } finally {
      S3Store.prototype.getRange = original;
    }
    const total = fetched.reduce((a, b) => a + b, 0);
    assert.ok(fetched.length > 0, 'the parent was read from the bucket');
    // Its first frame (metadata.json, then file data up to the first frame's end) and its end (locator, manifest, block index).
    assert.ok(total < parentBytes / 5, `read ${total} bytes of a ${parentBytes}-byte parent`);
  });
});

describe('parts sent while the archive is written', () => {
  test('an encrypted archive: the header part goes last, and the object verifies in full', async () => {
    Object.assign(process.env, s3.env, { XDG_CACHE_HOME: path.join(root, 'cache'), AICO_S3_PART_MIB: '5' });
    try {
      const home = path.join(root, 'early-home');
      await fs.mkdir(path.join(home, 'config'), { recursive: true });
      await fs.writeFile(path.join(home, 'config', 'big.bin'), randomBytes(27 << 20));
      const password = async () => Buffer.from('early-pw');
      const events: EngineEvent[] = [];
      const made = await create(
        { home, outputDir: 's3://backups/early', encrypt: true, password, kdfIterations: 1000, compression: 'zstd', compressionLevel: 1, include: ['config'], exclude: [] },
        { onEvent: (e) => events.push(e) },
      );
      const upload = events.find((e) => e.type === 'phase' && e.phase === 'upload');
      // 27 MiB of random data in 5 MiB parts: 6 parts, the 2nd to 5th whole before the end; the writer goes no further
      // than 2 parts ahead of the bucket, so at least 2 of them were there before it was done.
      const early = /\((\d) of 6 parts went up while it was written\)$/.exec(upload?.type === 'phase' ? upload.message : '');
      assert.ok(early && Number(early[1]) >= 2, JSON.stringify(upload));
      const checked = await verify({ path: made.backup.path, password });
      assert.equal(checked.ok, true, JSON.stringify(checked.problems));
      assert.equal((await new S3Store('s3://backups/early').head(path.basename(made.backup.path)))?.bytes, made.backup.bytes);
    } finally {
      delete process.env.AICO_S3_PART_MIB;
    }
  });
});

describe('S3Store against s3rver', () => {
  test('put, list, ranged read, delete', async () => {
    const store = new S3Store('s3://backups/probe', { ...process.env, ...s3.env });
    const name = 'aico-backup-20260101-000000.tar.zst';
    await store.call('put', name, (c) => c.client.send(new c.s3.PutObjectCommand({ Bucket: 'backups', Key: store.key(name), Body: Buffer.from('0123456789abcdef') })));
    assert.deepEqual((await store.list()).map((b) => [b.name, b.bytes]), [[name, 16]]);
    const f = await store.open(name);
    const buf = Buffer.alloc(6);
    assert.deepEqual(await f.read(buf, 0, 6, 10), { bytesRead: 6 });
    assert.equal(buf.toString(), 'abcdef');
    await store.remove(name);
    assert.deepEqual(await store.list(), []);
  });

  test('a clock the server finds an hour off: REMOTE_CLOCK_SKEW, saying what to do', async () => {
    const store = new S3Store('s3://backups/skew', { ...process.env, ...s3.env });
    const c = await store.connection();
    const before = c.client.config.systemClockOffset;
    c.client.config.systemClockOffset = -3_600_000;
    try {
      await assert.rejects(store.list(), (e: AicoError) => e.code === 'REMOTE_CLOCK_SKEW' && /clock is wrong \(RequestTimeTooSkewed\): list s3:\/\/backups\/skew at http/.test(e.message) && /timedatectl/.test(e.hint ?? ''));
    } finally {
      c.client.config.systemClockOffset = before;
    }
  });

  test('a read of a changed object that comes back short is TRUNCATED_ARCHIVE, not short data', async () => {
    const store = new S3Store('s3://backups/short', { ...process.env, ...s3.env });
    const name = 'aico-backup-20260101-000001.tar';
    await store.call('put', name, (c) => c.client.send(new c.s3.PutObjectCommand({ Bucket: 'backups', Key: store.key(name), Body: Buffer.alloc(100, 1) })));
    await assert.rejects(store.getRange(name, 90, 109), (e: AicoError) => e.code === 'TRUNCATED_ARCHIVE');
  });
});
