import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Keyring, MASTER_KEY_ACCOUNT } from '../../../src/engine/keys/keyring.js';
import { resolveMasterKey } from '../../../src/engine/keys/master-key.js';
import { startSecretService } from '../../secret-service.js';
import { tempDir } from '../../helpers.js';

describe('keyring against a real Secret Service (gnome-keyring)', async () => {
  const ss = await startSecretService();
  const env = { ...process.env, ...ss.env };

  test('set, get, delete of the master key entry', async () => {
    const keyring = new Keyring(env);
    const secret = Buffer.from(randomBytes(32).toString('hex'));
    assert.equal(await keyring.get(MASTER_KEY_ACCOUNT), null);
    await keyring.set(MASTER_KEY_ACCOUNT, secret);
    // A second Keyring (a fresh helper process each call) sees what the first stored.
    assert.deepEqual(await new Keyring(env).get(MASTER_KEY_ACCOUNT), secret);
    const resolved = await resolveMasterKey(new Keyring(env), { ...env, AICO_MASTER_KEY: 'ignored: the keyring wins' });
    assert.equal(resolved.source, 'keyring');
    assert.deepEqual(resolved.key, secret);
    assert.equal(await keyring.delete(MASTER_KEY_ACCOUNT), true);
    assert.equal(await keyring.get(MASTER_KEY_ACCOUNT), null);
    assert.equal(await keyring.delete(MASTER_KEY_ACCOUNT), false);
  });

  test('secrets with any bytes survive the round trip', async () => {
    const keyring = new Keyring(env);
    const secret = Buffer.from('pässwörd with spaces, "quotes" and \\ backslash');
    await keyring.set('backup_password', secret);
    assert.deepEqual(await keyring.get('backup_password'), secret);
    await keyring.delete('backup_password');
  });
});

describe('keyring unavailable: a clear error, never a hang', () => {
  test('no D-Bus session bus: KEYRING_UNAVAILABLE naming the way out, and AICO_MASTER_KEY is used', async () => {
    const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: undefined };
    const keyring = new Keyring(env, 'linux');
    await assert.rejects(keyring.get(MASTER_KEY_ACCOUNT), (e: any) => {
      assert.equal(e.code, 'KEYRING_UNAVAILABLE');
      assert.match(e.message, /D-Bus/);
      assert.match(e.hint, /AICO_MASTER_KEY/);
      return true;
    });
    const resolved = await resolveMasterKey(new Keyring(env, 'linux'), { ...env, AICO_MASTER_KEY: 'from-env' });
    assert.equal(resolved.source, 'env');
    assert.equal(resolved.key?.toString(), 'from-env');
    assert.equal(resolved.keyringProblem?.code, 'KEYRING_UNAVAILABLE');
    assert.equal((await resolveMasterKey(new Keyring(env, 'linux'), env)).source, 'none');
  });

  test('a bus that accepts connections but never answers times out', async () => {
    const sock = path.join(tempDir(), 'silent-bus');
    const silent = net.createServer(() => {}).listen(sock);
    try {
      const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${sock}`, AICO_KEYRING_TIMEOUT_MS: '1500' };
      const keyring = new Keyring(env, 'linux');
      const started = Date.now();
      await assert.rejects(keyring.get(MASTER_KEY_ACCOUNT), (e: any) => e.code === 'KEYRING_UNAVAILABLE' && /did not answer/.test(e.message));
      // Said once: the next call fails at once with the same error instead of waiting again.
      const again = Date.now();
      await assert.rejects(keyring.get(MASTER_KEY_ACCOUNT), (e: any) => e.code === 'KEYRING_UNAVAILABLE');
      assert.ok(Date.now() - again < 500, 'the second call did not wait again');
      assert.ok(again - started >= 1400, 'the first call waited for the timeout');
    } finally {
      silent.close();
    }
  });
});
