import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { Keyring, MASTER_KEY_ACCOUNT } from '../../../src/engine/keys/keyring.js';
import { startSecretService } from '../../secret-service.js';

/**
 * AICO itself is Python: it stores its master key with keyring.set_password("AICO", "master_key", ...).
 * Both sides must see the same Secret Service item (Debian packages python3-keyring, python3-secretstorage).
 */
describe("interop with AICO's Python keyring", async () => {
  const ss = await startSecretService();
  const env = { ...process.env, ...ss.env };
  const python = (code: string) => {
    const r = spawnSync('/usr/bin/python3', ['-c', `import keyring\n${code}`], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };

  test('a key Python stored is read here, and what is stored here Python reads', async () => {
    python('keyring.set_password("AICO", "master_key", "key-from-python-3f9a")');
    const keyring = new Keyring(env);
    assert.equal((await keyring.get(MASTER_KEY_ACCOUNT))?.toString(), 'key-from-python-3f9a');
    await keyring.set(MASTER_KEY_ACCOUNT, Buffer.from('key-from-aico-backup-77c1'));
    assert.equal(python('print(keyring.get_password("AICO", "master_key"))'), 'key-from-aico-backup-77c1');
  });
});
