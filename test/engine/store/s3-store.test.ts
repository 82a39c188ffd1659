import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { AicoError } from '../../../src/engine/errors.js';
import { S3Store } from '../../../src/engine/store/index.js';
import { closeConnections } from '../../../src/engine/store/s3-client.js';
import { startS3, type TestS3 } from '../../s3-server.js';

const s3: TestS3 = await startS3();
after(closeConnections);

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
