import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveLibsqlKey, masterKeyBytes } from '../../../src/engine/keys/master-key.js';
import { openKeyFile, sealKeyFile } from '../../../src/engine/keys/key-file.js';

// Vectors computed with Python's hmac/hashlib (an independent HKDF), documented in docs/FORMAT.md.
const SALT = Buffer.from([...Array(16).keys()]);

test('libSQL key: HKDF-SHA256(master key, salt file, "aico-libsql") as hex, matching an independent implementation', () => {
  const hexKey = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  assert.equal(deriveLibsqlKey(hexKey, SALT), 'f27da9107105b207e2c7ac07f301edb376b55e797d186af7199173d3d1faa37a');
  // The same 32 bytes given as base64 derive the same key.
  const b64 = Buffer.from(Buffer.from(hexKey.toString(), 'hex').toString('base64'));
  assert.equal(deriveLibsqlKey(b64, SALT), 'f27da9107105b207e2c7ac07f301edb376b55e797d186af7199173d3d1faa37a');
  assert.equal(deriveLibsqlKey(Buffer.from('not hex or base64 master key'), SALT), 'dae682695c25ddbd74652186a2bbd3aa651e65be7a3ce535796a6b9379dfd203');
  assert.equal(masterKeyBytes(hexKey).length, 32);
});

test('key file: sealed and opened; a wrong password or any changed field is WRONG_PASSWORD', async () => {
  const secret = Buffer.from('the master key');
  const sealed = await sealKeyFile(secret, Buffer.from('pw'), { service: 'AICO', account: 'master_key', iterations: 1000 });
  assert.ok(!sealed.includes(secret));
  const opened = await openKeyFile(sealed, Buffer.from('pw'));
  assert.deepEqual(opened.secret, secret);
  assert.equal(opened.account, 'master_key');
  await assert.rejects(openKeyFile(sealed, Buffer.from('wrong')), (e: any) => e.code === 'WRONG_PASSWORD');
  const doc = JSON.parse(sealed.toString());
  for (const change of [(d: any) => (d.account = 'backup_password'), (d: any) => (d.kdf.iterations = 1001)]) {
    const copy = structuredClone(doc);
    change(copy);
    await assert.rejects(openKeyFile(Buffer.from(JSON.stringify(copy)), Buffer.from('pw')), (e: any) => e.code === 'WRONG_PASSWORD');
  }
  await assert.rejects(openKeyFile(Buffer.from('{"format":"aico-key/2"}'), Buffer.from('pw')), (e: any) => e.code === 'UNSUPPORTED_FORMAT');
  await assert.rejects(openKeyFile(Buffer.from('garbage'), Buffer.from('pw')), (e: any) => e.code === 'CORRUPT_ARCHIVE');
});
