import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { cronLine, systemdUnits, unitName } from '../../../src/engine/index.js';
import { BIN, tempDir } from '../../helpers.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const command = [process.execPath, BIN];

/** systemd-analyze verify on the units as written (system mode: user mode needs a running user manager). */
async function verifyUnits(service: string, timer: string, name: string) {
  const dir = tempDir('aico-units-');
  await fs.writeFile(path.join(dir, `${name}.service`), service);
  await fs.writeFile(path.join(dir, `${name}.timer`), timer);
  return spawnSync('systemd-analyze', ['verify', path.join(dir, `${name}.timer`), path.join(dir, `${name}.service`)], { encoding: 'utf8' });
}

describe('what schedule install writes', () => {
  test('systemd units: a persistent timer with a randomized delay, a low-priority oneshot service; systemd-analyze verify accepts them', { skip: !hasAnalyze && 'no systemd-analyze here' }, async () => {
    const home = '/home/sam/.local/share/aico with space';
    const name = unitName(home);
    assert.match(name, /^aico-backup-schedule-[0-9a-f]{8}$/);
    assert.notEqual(name, unitName('/another/home'));
    for (const [every, calendar] of [['15m', '*:0/15'], ['1m', '*:0/1'], ['2h', '0/2:00'], ['24h', 'daily']] as const) {
      const { service, timer } = systemdUnits(home, command, every);
      assert.match(timer, new RegExp(`^OnCalendar=${calendar.replace(/[*/]/g, (c) => `\\${c}`)}$`, 'm'));
      assert.match(timer, /^Persistent=true$/m);
      assert.match(timer, /^RandomizedDelaySec=60$/m);
      assert.match(service, /^Type=oneshot$/m);
      assert.match(service, /^Nice=19$/m);
      assert.match(service, /^IOSchedulingClass=idle$/m);
      assert.match(service, new RegExp(`^ExecStart=\\S+ \\S+aico\\.js --home '${home}' backup schedule run-due$`, 'm'));
      const r = await verifyUnits(service, timer, name);
      assert.equal(r.status, 0, `${every}: ${r.stderr}`);
    }
    // The check can fail: a timer whose calendar systemd cannot read is refused.
    const broken = systemdUnits(home, command, '15m');
    const r = await verifyUnits(broken.service, broken.timer.replace(/^OnCalendar=.*$/m, 'OnCalendar=every blue moon'), name);
    assert.notEqual(r.status, 0);
  });

  test('the crontab line: nice, absolute paths, quoted home, marked for uninstall; intervals it cannot express are refused', () => {
    const line = cronLine('/srv/aico home', command, '15m');
    assert.equal(line, `*/15 * * * * nice -n 19 ${process.execPath} ${BIN} --home '/srv/aico home' backup schedule run-due >/dev/null 2>&1 # aico-backup schedule /srv/aico home`);
    assert.match(cronLine('/h', command, '3h'), /^0 \*\/3 \* \* \* /);
    for (const bad of ['0m', '60m', '90s', '25h', 'often']) assert.throws(() => cronLine('/h', command, bad), (e: any) => e.code === 'USAGE', bad);
  });
});
