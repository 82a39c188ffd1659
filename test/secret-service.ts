import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

export interface SecretService {
  /** Environment for processes that should see this Secret Service. */
  env: Record<string, string>;
}

/**
 * Starts a private D-Bus session bus with an unlocked gnome-keyring on it
 * (Debian packages dbus and gnome-keyring), stopped after the test file.
 * Its keyring files live in a fresh directory, so runs never share state.
 */
export async function startSecretService(): Promise<SecretService> {
  const dir = mkdtempSync(path.join(tmpdir(), 'aico-keyring-'));
  const bus: ChildProcess = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    bus.on('error', (e) => reject(new Error(`dbus-daemon failed to start (apt-get install dbus): ${e.message}`)));
    bus.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
  });
  const env = { DBUS_SESSION_BUS_ADDRESS: address, XDG_DATA_HOME: dir, HOME: dir };
  const unlock = spawnSync('gnome-keyring-daemon', ['--unlock', '--components=secrets'], {
    input: 'aico-test-keyring',
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (unlock.error || unlock.status !== 0) {
    bus.kill();
    throw new Error(`gnome-keyring-daemon --unlock failed (apt-get install gnome-keyring): ${unlock.error?.message ?? unlock.stderr}`);
  }
  after(() => {
    // gnome-keyring exits when its bus goes away.
    bus.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return { env };
}
