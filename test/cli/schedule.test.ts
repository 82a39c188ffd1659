import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { runCli, tempDir } from '../helpers.js';

/** A config-only home and a private password file; no keyring (no D-Bus session) and no $AICO_BACKUP_PASSWORD. */
async function setup() {
  const dir = tempDir('aico-cli-schedule-');
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  const pw = path.join(dir, 'pw');
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(path.join(home, 'config', 'core.yaml'), '# my settings\nbackup:\n  compression: zstd   # fast enough\n');
  await fs.writeFile(pw, 'sched-pw\n', { mode: 0o600 });
  return { dir, home, out, pw };
}
const env = { DBUS_SESSION_BUS_ADDRESS: undefined, TZ: 'UTC' };
const cli = (home: string, args: string[]) => runCli(['--home', home, 'backup', 'schedule', ...args], { env });

describe('aico backup schedule', () => {
  test("the seed's commands: create daily and weekly, list with next runs, show, disable, enable, delete; core.yaml keeps its comments", async () => {
    const { home, out, pw } = await setup();
    const daily = await cli(home, ['create', '--frequency', 'daily', '--time', '02:00', '--output', out, '--password-file', pw, '--include', 'config', '--json']);
    assert.equal(daily.code, 0, daily.stdout + daily.stderr);
    assert.deepEqual([daily.json.schedule.name, daily.json.schedule.type, daily.json.next.length], ['default', 'auto', 3]);
    assert.match(daily.json.next[0], /T02:00:00\.000Z$/);
    const weekly = await cli(home, ['create', '--name', 'weekly', '--frequency', 'weekly', '--day', 'sunday', '--time', '03:00', '--type', 'full', '--output', out, '--password-file', pw, '--include', 'config', '--json']);
    assert.equal(weekly.code, 0, weekly.stdout + weekly.stderr);
    assert.equal(new Date(weekly.json.next[0]).getUTCDay(), 0);
    const text = await fs.readFile(path.join(home, 'config', 'core.yaml'), 'utf8');
    assert.match(text, /^# my settings$/m);
    assert.match(text, /compression: zstd\s+# fast enough/);
    assert.match(text, /time: "02:00"/, 'times quoted, for YAML 1.1 readers');
    assert.deepEqual(YAML.parse(text).backup.schedules.map((s: any) => [s.name, s.frequency, s.time, s.day]), [['default', 'daily', '02:00', undefined], ['weekly', 'weekly', '03:00', 'sunday']]);

    const dup = await cli(home, ['create', '--name', 'weekly', '--frequency', 'daily', '--json']);
    assert.deepEqual([dup.code, dup.json.error.code], [2, 'USAGE']);
    const listed = await cli(home, ['list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^default: daily at 02:00, auto \(full weekly\), enabled$/m);
    assert.match(listed.stdout, /^weekly: weekly at 03:00 on sunday, full, enabled$/m);
    assert.match(listed.stdout, /^ {2}next {8}Sun \d{4}-\d\d-\d\d 03:00 UTC \(03:00 UTC\)$/m);
    assert.match(listed.stdout, /^ {2}last ok {5}never$/m);
    const show = await cli(home, ['show', 'weekly']);
    assert.match(show.stdout, /cron {8}0 3 \* \* 0 \(UTC\)/);
    // With two schedules, a command given no name asks which.
    const which = await cli(home, ['disable', '--json']);
    assert.deepEqual([which.code, which.json.error.code], [2, 'USAGE']);
    assert.match(which.json.error.message, /2 schedules: default, weekly; say which/);
    const off = await cli(home, ['disable', 'weekly', '--json']);
    assert.equal(off.json.schedule.enabled, false);
    assert.match((await cli(home, ['list'])).stdout, /^weekly: .*, DISABLED$/m);
    assert.equal((await cli(home, ['enable', '--name', 'weekly', '--json'])).json.schedule.enabled, true);
    const del = await cli(home, ['delete', 'weekly', '--json']);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(YAML.parse(await fs.readFile(path.join(home, 'config', 'core.yaml'), 'utf8')).backup.schedules.map((s: any) => s.name), ['default']);
  });

  test('clear errors: a bad cron expression points at the field; no password source; a password file others can read', async () => {
    const { home, out, pw } = await setup();
    const bad = await cli(home, ['create', '--cron', '0 2 * *', '--no-encrypt', '--output', out, '--json']);
    assert.deepEqual([bad.code, bad.json.error.code, bad.json.error.details.field], [2, 'USAGE', 'cron']);
    assert.match(bad.json.error.message, /has 4 field\(s\); it needs 5/);
    const range = await cli(home, ['create', '--cron', '0 25 * * *', '--no-encrypt', '--output', out, '--json']);
    assert.deepEqual([range.code, range.json.error.details.field], [2, 'cron']);
    const both = await cli(home, ['create', '--cron', '0 2 * * *', '--frequency', 'daily', '--no-encrypt', '--json']);
    assert.match(both.json.error.message, /cron: give either cron or frequency/);
    const nopw = await cli(home, ['create', '--frequency', 'daily', '--output', out, '--json']);
    assert.deepEqual([nopw.code, nopw.json.error.code], [2, 'PASSWORD_REQUIRED']);
    assert.match(nopw.json.error.hint, /aico backup password set/);
    await fs.chmod(pw, 0o644);
    const open = await cli(home, ['create', '--frequency', 'daily', '--output', out, '--password-file', pw, '--json']);
    assert.deepEqual([open.code, open.json.error.code], [2, 'USAGE']);
    assert.match(open.json.error.hint, /chmod 600/);
    // Nothing was saved by any of them.
    assert.equal((await cli(home, ['list', '--json'])).json.schedules.length, 0);
  });

  test('run-due: a missed run is caught up once; a second run-due at the same time is LOCKED and makes nothing', async () => {
    const { home, out, pw } = await setup();
    assert.equal((await cli(home, ['create', '--cron', '*/5 * * * *', '--output', out, '--password-file', pw, '--include', 'config', '--json'])).code, 0);
    const none = await cli(home, ['run-due', '--json']);
    assert.equal(none.code, 0, none.stdout + none.stderr);
    assert.deepEqual([none.json.runs.length, none.json.not_due], [0, ['default']]);
    // As if the schedule had been made an hour ago and the machine had been off since.
    const stateFile = path.join(home, 'data', 'backup-schedules.json');
    const state = JSON.parse(await fs.readFile(stateFile, 'utf8'));
    state.schedules.default.created = new Date(Date.now() - 3600_000).toISOString();
    await fs.writeFile(stateFile, JSON.stringify(state));
    const [a, b] = await Promise.all([cli(home, ['run-due', '--json']), cli(home, ['run-due', '--json'])]);
    const ran = [a, b].find((r) => r.code === 0 && r.json.runs.length === 1)!;
    const other = [a, b].find((r) => r !== ran)!;
    assert.ok(ran, a.stdout + b.stdout);
    // The other either found the lock held, or came just after and found nothing due.
    assert.ok(other.code === 6 ? other.json.error.code === 'LOCKED' : other.json.runs.length === 0, other.stdout);
    assert.equal(ran.json.runs[0].backup.type, 'full');
    const backups = (await fs.readdir(out)).filter((n) => n.startsWith('aico-backup-'));
    assert.equal(backups.length, 1);
    const again = await cli(home, ['run-due', '--json']);
    assert.equal(again.json.runs.length, 0, 'caught up: nothing more is owed');
    const verify = await runCli(['backup', 'verify', path.join(out, backups[0]!), '--password-file', pw], { env });
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const listed = await cli(home, ['list', '--json']);
    assert.equal(listed.json.schedules[0].state.last_backup, path.join(out, backups[0]!));
    assert.equal(listed.json.schedules[0].overdue, false);
  });

  test('a failed run: run-due exits with its code, and backup list and schedule list say so', async () => {
    const { home, out, pw } = await setup();
    assert.equal((await cli(home, ['create', '--cron', '0 * * * *', '--output', out, '--password-file', pw, '--include', 'config', '--json'])).code, 0);
    const stateFile = path.join(home, 'data', 'backup-schedules.json');
    const state = JSON.parse(await fs.readFile(stateFile, 'utf8'));
    state.schedules.default.created = new Date(Date.now() - 3 * 3600_000).toISOString();
    await fs.writeFile(stateFile, JSON.stringify(state));
    await fs.rm(pw);
    const failed = await cli(home, ['run-due', '--json']);
    assert.deepEqual([failed.code, failed.json.error.code], [5, 'NOT_FOUND']);
    assert.match(failed.json.error.message, /^Scheduled backup "default" failed: Cannot read the password file/);
    assert.equal(failed.json.error.details.runs[0].ok, false);
    const listed = await runCli(['--home', home, 'backup', 'list', out], { env });
    assert.match(listed.stdout, /^! schedule default: last run FAILED \(NOT_FOUND: Cannot read the password file .*\), OVERDUE; last success never/m);
    const json = await runCli(['--home', home, 'backup', 'list', out, '--json'], { env });
    assert.deepEqual(json.json.schedule_problems.map((p: any) => [p.name, p.overdue, p.last_outcome, p.last_error.code]), [['default', true, 'failed', 'NOT_FOUND']]);
    assert.match((await cli(home, ['list'])).stdout, /^default: cron "0 \* \* \* \*", auto \(full weekly\), enabled, OVERDUE$/m);
    const log = await fs.readFile(path.join(home, 'data', 'logs', 'backup.log'), 'utf8');
    assert.match(log, /schedule=default outcome=failed scheduled_for=\S+ code=NOT_FOUND error="Cannot read the password file/);
  });
});
