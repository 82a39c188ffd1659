import assert from 'node:assert/strict';
import { test } from 'node:test';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { deriveLibsqlKey, explicitLibsqlKey, masterKeyBytes } from '../../../src/engine/keys/libsql-key.js';
import { aicoKdfSettings } from '../../../src/engine/home/aico-config.js';
import { tempDir } from '../../helpers.js';
import { openKeyFile, sealKeyFile } from '../../../src/engine/keys/key-file.js';

// Vectors computed independently with Python: hashlib.pbkdf2_hmac('sha256', master + b'aico-db-libsql', salt, N, 32).
const SALT = Buffer.from([...Array(16).keys()]);
const MASTER_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

test("libSQL key: AICO's PBKDF2-HMAC-SHA256(master bytes || 'aico-db-libsql', salt file, iterations) as hex, matching Python", async () => {
  assert.equal(await deriveLibsqlKey(Buffer.from(MASTER_HEX), SALT), '1ec91ba0de673e11c2a0b76cc740d7e9cee62711855166f8b84daf02cf5d4279');
  assert.equal(await deriveLibsqlKey(Buffer.from(MASTER_HEX), SALT, 1000), '7720023304b68bb193f99af45089733d1de5d91f46465ac8ed5ca8972db95004');
  // bytes.fromhex accepts upper case and spaces between bytes; so does the tool.
  assert.equal(await deriveLibsqlKey(Buffer.from(MASTER_HEX.toUpperCase()), SALT), '1ec91ba0de673e11c2a0b76cc740d7e9cee62711855166f8b84daf02cf5d4279');
  assert.equal(masterKeyBytes(Buffer.from(MASTER_HEX)).length, 32);
  // AICO would fail on a master key that is not hex; the tool says so instead of deriving a key AICO never would.
  await assert.rejects(deriveLibsqlKey(Buffer.from('not hex master key'), SALT), (e: any) => e.code === 'DATABASE_INVALID' && /not hex/.test(e.message));
});

test('AICO_LIBSQL_KEY takes the raw 64-hex key and nothing else', () => {
  assert.equal(explicitLibsqlKey({ AICO_LIBSQL_KEY: 'AB'.repeat(32) }), 'ab'.repeat(32));
  assert.equal(explicitLibsqlKey({}), null);
  assert.throws(() => explicitLibsqlKey({ AICO_LIBSQL_KEY: 'a passphrase' }), (e: any) => e.code === 'USAGE');
});

test("the iteration count comes from the home's AICO runtime.yaml (domain security), else AICO's default", async () => {
  const dir = tempDir();
  assert.deepEqual(await aicoKdfSettings(dir), { iterations: 100000, from: 'AICO default' });
  await fs.writeFile(path.join(dir, 'runtime.yaml'), 'security:\n  encryption:\n    key_derivation:\n      pbkdf2:\n        iterations: 250000\n');
  assert.equal((await aicoKdfSettings(dir)).iterations, 250000);
  await fs.writeFile(path.join(dir, 'runtime.yaml'), 'security:\n  encryption:\n    key_derivation:\n      pbkdf2:\n        iterations: lots\n');
  await assert.rejects(aicoKdfSettings(dir), (e: any) => e.code === 'CONFIG_INVALID' && e.message.includes('runtime.yaml'));
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
