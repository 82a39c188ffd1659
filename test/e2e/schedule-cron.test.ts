// End to end: a schedule every minute, installed into root's crontab and run by a real cron
// daemon (Debian's cron, started here), produces a backup that verifies, within two minutes.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli, tempDir } from '../helpers.js';

const cronBinary = ['/usr/sbin/cron', '/usr/sbin/crond'].find((p) => existsSync(p));
const isRoot = process.getuid?.() === 0;
const skip = !cronBinary ? 'cron is not installed (Debian: apt-get install cron)' : !isRoot ? 'starting a cron daemon needs root' : false;
const cronRunning = () => spawnSync('pgrep', ['-x', path.basename(cronBinary ?? 'cron')]).status === 0;

describe('a schedule run by a real cron daemon', { skip, timeout: 240_000 }, () => {
  const dir = tempDir('aico-cron-');
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  const pw = path.join(dir, 'pw');
  let started = false;
  const env = { DBUS_SESSION_BUS_ADDRESS: undefined };
  after(async () => {
    await runCli(['--home', home, 'backup', 'schedule', 'uninstall'], { env });
    if (started) spawnSync('pkill', ['-x', path.basename(cronBinary!)]);
  });

  test('schedule create --cron "* * * * *", install --method cron --every 1m: a verified backup within two minutes; uninstall removes the line', async () => {
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'settings.yaml'), 'from: cron\n');
    await fs.writeFile(pw, 'cron-pw\n', { mode: 0o600 });
    const made = await runCli(['--home', home, 'backup', 'schedule', 'create', '--cron', '* * * * *', '--output', out, '--password-file', pw, '--include', 'config', '--json'], { env });
    assert.equal(made.code, 0, made.stdout + made.stderr);
    const before = spawnSync('crontab', ['-l'], { encoding: 'utf8' }).stdout ?? '';
    const installed = await runCli(['--home', home, 'backup', 'schedule', 'install', '--method', 'cron', '--every', '1m', '--json'], { env });
    assert.equal(installed.code, 0, installed.stdout + installed.stderr);
    const line = installed.json.installed[0] as string;
    assert.match(line, /^\*\/1 \* \* \* \* nice -n 19 \S+node \S+aico\.js --home \S+ backup schedule run-due >\/dev\/null 2>&1 # aico-backup schedule /);
    assert.ok(execFileSync('crontab', ['-l'], { encoding: 'utf8' }).includes(line));
    if (!cronRunning()) {
      execFileSync(cronBinary!);
      started = true;
    }
    // The schedule was created just now: its first run is the next whole minute, and cron starts it then.
    const deadline = Date.now() + 150_000;
    let archives: string[] = [];
    while (Date.now() < deadline) {
      archives = (await fs.readdir(out).catch(() => [] as string[])).filter((n) => /^aico-backup-.*\.tar\.zst\.enc$/.test(n));
      if (archives.length > 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.equal(archives.length >= 1, true, `no backup in ${out} after 150 s; backup.log: ${await fs.readFile(path.join(home, 'data', 'logs', 'backup.log'), 'utf8').catch(() => '(none)')}`);
    const verify = await runCli(['backup', 'verify', path.join(out, archives[0]!), '--password-file', pw], { env });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(await fs.readFile(path.join(home, 'data', 'logs', 'backup.log'), 'utf8'), /schedule=default outcome=ok /);
    const removed = await runCli(['--home', home, 'backup', 'schedule', 'uninstall', '--json'], { env });
    assert.deepEqual(removed.json.removed, [line]);
    assert.equal(spawnSync('crontab', ['-l'], { encoding: 'utf8' }).stdout ?? '', before.trim() === '' ? '' : before);
  });
});
