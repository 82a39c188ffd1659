import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { backupLogFile, changeSchedule, createSchedule, Keyring, list, runDue, scheduleStatus } from '../../../src/engine/index.js';
import { readStates } from '../../../src/engine/schedule/state.js';
import { tempDir } from '../../helpers.js';

/** A home of config files only (the scheduler is the subject here, not the databases), with no keyring. */
async function setup() {
  const dir = tempDir('aico-rundue-');
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(path.join(home, 'config', 'settings.yaml'), 'a: 1\n');
  return { dir, home, out };
}
// No $AICO_BACKUP_PASSWORD and no Secret Service: the schedule's password file is the only source.
const env = {} as NodeJS.ProcessEnv;
const keyring = new Keyring({});
const at = (s: string) => new Date(s);

describe('run-due with an injected clock', () => {
  test('a laptop off at 02:00 for three nights backs up once when it next runs; only a success moves the schedule on', async () => {
    const { home, out } = await setup();
    await createSchedule(home, { name: 'nightly', frequency: 'daily', time: '02:00', encrypt: false, output_dir: out, include: ['config'] }, { now: at('2026-03-27T10:00:00Z'), env, keyring });
    const base = { home, timeZone: 'UTC', env, keyring };
    // Created after today's 02:00: nothing is owed yet.
    let r = await runDue({ ...base, now: at('2026-03-27T12:00:00Z') });
    assert.deepEqual([r.runs.length, r.not_due], [0, ['nightly']]);
    // Off from the 27th to the 30th: the 28th, 29th and 30th at 02:00 were missed; one run stands for the newest.
    r = await runDue({ ...base, now: at('2026-03-30T09:00:00Z') });
    assert.deepEqual(r.runs.map((x) => [x.name, x.ok, x.scheduled_for, x.backup?.type]), [['nightly', true, '2026-03-30T02:00:00.000Z', 'full']]);
    r = await runDue({ ...base, now: at('2026-03-30T09:15:00Z') });
    assert.equal(r.runs.length, 0, 'the missed runs collapsed into that one');
    // The next night: an incremental (the week's full backup exists).
    r = await runDue({ ...base, now: at('2026-03-31T02:05:00Z') });
    assert.deepEqual(r.runs.map((x) => x.backup?.type), ['incremental']);
    const states = await readStates(home);
    assert.equal(states.nightly!.last_success, states.nightly!.last_attempt);
    assert.equal(states.nightly!.last_backup, r.runs[0]!.backup!.path);
    // The log: one line per run, private.
    const log = await fs.readFile(backupLogFile(home), 'utf8');
    assert.equal(log.trim().split('\n').length, 2);
    assert.match(log, /schedule=nightly outcome=ok scheduled_for=2026-03-31T02:00:00\.000Z backup=\S+ type=incremental bytes=\d+ files=\d+/);
    assert.equal((await fs.stat(backupLogFile(home))).mode & 0o777, 0o600);
  });

  test('no password source: the run fails with PASSWORD_REQUIRED, is logged, and is retried at the next run-due', async () => {
    const { home, out } = await setup();
    const pw = path.join(home, '..', 'pw');
    await fs.writeFile(pw, 'secret\n', { mode: 0o600 });
    await createSchedule(home, { name: 'enc', cron: '0 * * * *', output_dir: out, include: ['config'], password_file: pw }, { now: at('2026-05-01T00:30:00Z'), env, keyring });
    await fs.rm(pw);
    let r = await runDue({ home, timeZone: 'UTC', env, keyring, now: at('2026-05-01T01:10:00Z') });
    assert.deepEqual(r.runs.map((x) => [x.ok, x.error?.code]), [[false, 'NOT_FOUND']]);
    let s = (await readStates(home)).enc!;
    assert.deepEqual([s.last_outcome, s.last_success, s.last_error?.code], ['failed', null, 'NOT_FOUND']);
    assert.match(await fs.readFile(backupLogFile(home), 'utf8'), /schedule=enc outcome=failed .*code=NOT_FOUND/);
    const [status] = await scheduleStatus(home, { now: at('2026-05-01T02:20:00Z'), timeZone: 'UTC' });
    assert.deepEqual([status!.due, status!.overdue], [true, true]);
    // The file is back, but readable by others: refused, said so.
    await fs.writeFile(pw, 'secret\n', { mode: 0o644 });
    await fs.chmod(pw, 0o644);
    r = await runDue({ home, timeZone: 'UTC', env, keyring, now: at('2026-05-01T01:20:00Z') });
    assert.match(r.runs[0]!.error!.message, /can be read by others \(mode 644\)/);
    await fs.chmod(pw, 0o600);
    r = await runDue({ home, timeZone: 'UTC', env, keyring, now: at('2026-05-01T01:30:00Z') });
    assert.deepEqual(r.runs.map((x) => [x.ok, x.backup?.type]), [[true, 'full']]);
    s = (await readStates(home)).enc!;
    assert.deepEqual([s.last_outcome, s.last_error], ['ok', null]);
    assert.ok((await list({ dir: out })).backups[0]!.encrypted);
  });

  test('an encrypted schedule without any password source is refused before it is saved', async () => {
    const { home, out } = await setup();
    await assert.rejects(createSchedule(home, { name: 'x', frequency: 'daily', time: '02:00', output_dir: out }, { env }), (e: any) => e.code === 'PASSWORD_REQUIRED' && /no password source/.test(e.message));
    await assert.rejects(fs.stat(path.join(home, 'config', 'core.yaml')), { code: 'ENOENT' });
  });

  test('cleanup after each run with the schedule\'s policy; a disabled schedule does not run unless forced', async () => {
    const { home, out } = await setup();
    await createSchedule(home, { name: 'hourly', cron: '0 * * * *', encrypt: false, output_dir: out, include: ['config'], type: 'full', retention: { keep_last: 2 } }, { now: at('2026-06-01T00:30:00Z'), env, keyring });
    for (const h of ['01', '02', '03']) {
      await fs.writeFile(path.join(home, 'config', 'settings.yaml'), `hour: ${h}\n`);
      const r = await runDue({ home, timeZone: 'UTC', env, keyring, now: at(`2026-06-01T${h}:05:00Z`) });
      assert.ok(r.runs[0]!.ok, JSON.stringify(r.runs[0]));
    }
    assert.equal((await list({ dir: out })).backups.length, 2);
    await changeSchedule(home, 'hourly', 'disable', { now: at('2026-06-01T03:10:00Z') });
    let r = await runDue({ home, timeZone: 'UTC', env, keyring, now: at('2026-06-01T05:05:00Z') });
    assert.deepEqual([r.runs.length, r.not_due], [0, []]);
    r = await runDue({ home, timeZone: 'UTC', env, keyring, now: at('2026-06-01T05:06:00Z'), force: ['hourly'] });
    assert.deepEqual(r.runs.map((x) => [x.name, x.ok, x.scheduled_for]), [['hourly', true, null]]);
  });
});
