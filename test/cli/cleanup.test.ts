import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { create, list, restore, type CreateOptions } from '../../src/engine/index.js';
import { runCli, tempDir } from '../helpers.js';

/**
 * The CLI face of retention: the seed's examples literally, on real encrypted
 * archives made with recorded times (create's `now`, which --time sets).
 */
const root = tempDir('aico-cli-cleanup-');
const home = path.join(root, 'home');
const pwFile = path.join(root, 'pw');
const env = { TZ: 'UTC' };
const base = (outputDir: string): CreateOptions => ({
  home, outputDir, encrypt: true, password: async () => Buffer.from('cleanup-pw'), kdfIterations: 1000,
  compression: 'zstd', compressionLevel: 1, include: ['config'], exclude: [],
});

/** Full backups at the given UTC times; returns their names, in the order given. */
async function history(dir: string, times: string[], over: Partial<CreateOptions>[] = []): Promise<string[]> {
  const names: string[] = [];
  for (const [i, t] of times.entries()) {
    await fs.writeFile(path.join(home, 'config', 'when.yaml'), `at: ${t}\n`);
    const { backup } = await create({ ...base(dir), now: new Date(t), ...over[i] });
    names.push(path.basename(backup.path));
  }
  return names;
}
const archives = async (dir: string) => (await fs.readdir(dir)).filter((n) => n.startsWith('aico-backup-') && /\.tar/.test(n)).sort();
const cleanupCli = (args: string[]) => runCli(['--home', home, 'backup', 'cleanup', '--password-file', pwFile, ...args], { env });

before(async () => {
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(pwFile, 'cleanup-pw\n', { mode: 0o600 });
});

describe('aico backup cleanup', () => {
  test('the seed: --keep 5 keeps the five newest and says why; other files in the directory are never touched', async () => {
    const dir = path.join(root, 'keep5');
    const names = await history(dir, ['2026-05-01T02:00:00Z', '2026-05-02T02:00:00Z', '2026-05-03T02:00:00Z', '2026-05-04T02:00:00Z', '2026-05-05T02:00:00Z', '2026-05-06T02:00:00Z', '2026-05-07T02:00:00Z']);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
    await fs.writeFile(path.join(dir, 'aico-backup-old.tar.zst.enc.bak'), 'mine too');
    const r = await cleanupCli([dir, '--keep', '5', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await archives(dir), [...names.slice(2), 'aico-backup-old.tar.zst.enc.bak'].sort());
    assert.ok((await fs.readdir(dir)).includes('notes.txt'));
    assert.deepEqual([r.json.removed, r.json.dry_run, r.json.verified, r.json.policy.rules, r.json.policy.from], [2, false, names[6], '--keep-last 5 --keep-safety 3', 'flags']);
    assert.deepEqual(
      r.json.backups.map((b: any) => [b.name, b.keep, b.removed, b.reasons]),
      [
        [names[6], true, false, ['newest backup', 'last 1 of 5', 'newest backup that verifies']],
        [names[5], true, false, ['last 2 of 5']],
        [names[4], true, false, ['last 3 of 5']],
        [names[3], true, false, ['last 4 of 5']],
        [names[2], true, false, ['last 5 of 5']],
        [names[1], false, true, []],
        [names[0], false, true, []],
      ],
    );
  });

  test('the seed: --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --dry-run shows what would go and removes nothing', async () => {
    const dir = path.join(root, 'seed-policy');
    // Two a day for ten days in June (the later one of each day is the day's newest), and the 1st of March..May.
    const times = ['2026-03-01T12:00:00Z', '2026-04-01T12:00:00Z', '2026-05-01T12:00:00Z'];
    for (let d = 1; d <= 10; d++) for (const h of ['08', '20']) times.push(`2026-06-${String(d).padStart(2, '0')}T${h}:00:00Z`);
    const names = await history(dir, times);
    const before = await archives(dir);
    const r = await cleanupCli([dir, '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '6', '--dry-run']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await archives(dir), before);
    // Daily: 4..10 June at 20:00. Weekly (ISO): W23 (1..7 June) -> 7 June is already kept; W24 -> 10 June; W22 (25..31 May) and
    // W21 have none, so the weeks before count on: W18 (1 May), W14 (1 April). Monthly: June (10th), May, April, March.
    const kept = ['2026-03-01T12', '2026-04-01T12', '2026-05-01T12', ...[4, 5, 6, 7, 8, 9, 10].map((d) => `2026-06-${String(d).padStart(2, '0')}T20`)];
    const keptNames = times.map((t, i) => [t, names[i]!] as const).filter(([t]) => kept.includes(t.slice(0, 13))).map(([, n]) => n);
    const lines = r.stdout.split('\n');
    for (const n of names) {
      const line = lines.find((l) => l.includes(n))!;
      assert.match(line, keptNames.includes(n) ? /^\s+keep\s/ : /^\s+REMOVE\s/, line);
    }
    assert.match(r.stdout, /keep .*aico-backup-20260401-120000\.tar\.zst\.enc {2}\(weekly 2026-W14; monthly 2026-04\)/);
    assert.match(r.stdout, new RegExp(`Dry run: ${names.length - kept.length} backup\\(s\\) would be removed, freeing .*; nothing was changed\\.`));
  });

  test('with no rule flags the retention: policy of core.yaml applies; the newest backup that fails verification is kept, and so is the next one that verifies', async () => {
    const dir = path.join(root, 'config-policy');
    const names = await history(dir, ['2026-07-01T02:00:00Z', '2026-07-02T02:00:00Z', '2026-07-03T02:00:00Z', '2026-07-04T02:00:00Z']);
    await fs.writeFile(path.join(home, 'config', 'core.yaml'), `backup:\n  output_dir: ${dir}\n  retention:\n    keep_last: 1\n    keep_daily: 0\n    keep_weekly: 0\n    keep_monthly: 0\n`);
    try {
      // A flipped byte in the middle of the newest archive: it no longer verifies.
      const newest = path.join(dir, names[3]!);
      const bytes = await fs.readFile(newest);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      await fs.writeFile(newest, bytes);
      const r = await cleanupCli(['--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.json.policy.from, 'config');
      assert.deepEqual(await archives(dir), [names[2], names[3]].sort());
      assert.equal(r.json.verified, names[2]);
      const why = new Map(r.json.backups.map((b: any) => [b.name, b.reasons]));
      assert.match((why.get(names[3]) as string[]).join('; '), /^newest backup; last 1 of 1; failed verification \(\w+\): kept for you to look at$/);
      assert.deepEqual(why.get(names[2]), ['newest backup that verifies']);
    } finally {
      await fs.rm(path.join(home, 'config', 'core.yaml'));
    }
  });

  test('refusals leave every backup: an empty policy, a wrong password, no password, the lock held, --output and a different DIR', async () => {
    const dir = path.join(root, 'refusals');
    await history(dir, ['2026-08-01T02:00:00Z', '2026-08-02T02:00:00Z']);
    const before = await archives(dir);
    const empty = await cleanupCli([dir, '--keep-last', '0', '--json']);
    assert.deepEqual([empty.code, empty.json.error.code], [2, 'USAGE']);
    assert.match(empty.json.error.message, /keeps nothing/);
    await fs.writeFile(path.join(root, 'wrong'), 'not-it');
    const wrong = await runCli(['--home', home, 'backup', 'cleanup', dir, '--keep-last', '1', '--password-file', path.join(root, 'wrong'), '--json'], { env });
    assert.deepEqual([wrong.code, wrong.json.error.code], [3, 'WRONG_PASSWORD']);
    assert.match(wrong.json.error.message, /verifies the newest backup, .* before it removes anything/);
    const none = await runCli(['--home', home, 'backup', 'cleanup', dir, '--keep-last', '1', '--json'], { env });
    assert.deepEqual([none.code, none.json.error.code], [2, 'PASSWORD_REQUIRED']);
    await fs.writeFile(path.join(dir, '.aico-backup.lock'), JSON.stringify({ pid: process.pid, host: hostname(), op: 'create', started: new Date().toISOString() }));
    const locked = await cleanupCli([dir, '--keep-last', '1', '--json']);
    assert.deepEqual([locked.code, locked.json.error.code], [6, 'LOCKED']);
    await fs.rm(path.join(dir, '.aico-backup.lock'));
    const two = await cleanupCli([dir, '--output', path.join(root, 'elsewhere'), '--keep-last', '1', '--json']);
    assert.deepEqual([two.code, two.json.error.code], [2, 'USAGE']);
    const missing = await cleanupCli([path.join(root, 'no-such-dir'), '--keep-last', '1', '--json']);
    assert.deepEqual([missing.code, missing.json.error.code], [5, 'NOT_FOUND']);
    const badTz = await cleanupCli([dir, '--keep-daily', '1', '--tz', 'Mars/Olympus', '--json']);
    assert.deepEqual([badTz.code, badTz.json.error.code], [2, 'USAGE']);
    assert.deepEqual(await archives(dir), before);
    // --output is the same as the argument.
    const out = await cleanupCli(['--output', dir, '--keep-last', '1', '--json']);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.equal((await archives(dir)).length, 1);
  });
});

describe('chains: delete and create --time', () => {
  test('a cleanup killed after its first removal leaves every remaining chain whole; the next run finishes it', async () => {
    const dir = path.join(root, 'killed');
    const types: Partial<CreateOptions>[] = [{}, { backupType: 'incremental' }, { backupType: 'incremental' }, {}, { backupType: 'incremental' }];
    const names = await history(dir, ['2026-11-01T02:00:00Z', '2026-11-02T02:00:00Z', '2026-11-03T02:00:00Z', '2026-11-04T02:00:00Z', '2026-11-05T02:00:00Z'], types);
    const killed = await runCli(['--home', home, 'backup', 'cleanup', dir, '--keep-last', '1', '--password-file', pwFile, '--json'], { env: { ...env, AICO_FAULT: 'delete:1' } });
    assert.equal(killed.signal, 'SIGKILL');
    // Dependents go first: the 3rd's removal came before the 2nd's and the 1st's, so nothing left lost its chain.
    assert.deepEqual(await archives(dir), [names[0], names[1], names[3], names[4]].sort());
    const { backups } = await list({ dir });
    assert.ok(backups.every((b) => b.chain_intact !== false && !b.problem), JSON.stringify(backups.map((b) => [b.name, b.chain_intact])));
    const again = await cleanupCli([dir, '--keep-last', '1', '--json']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await archives(dir), [names[3], names[4]].sort());
  });

  test('delete refuses a backup others build on, naming them; --with-dependents removes the sub-chain, dependents first', async () => {
    const dir = path.join(root, 'chain');
    const [full, i1, i2] = await history(dir, ['2026-09-01T02:00:00Z', '2026-09-02T02:00:00Z', '2026-09-03T02:00:00Z'], [{}, { backupType: 'incremental' }, { backupType: 'incremental' }]);
    const refused = await runCli(['backup', 'delete', path.join(dir, i1!), '--json']);
    assert.deepEqual([refused.code, refused.json.error.code, refused.json.error.details.dependents], [16, 'HAS_DEPENDENTS', [i2]]);
    const r = await runCli(['backup', 'delete', path.join(dir, i1!), '--with-dependents', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.json.backups.map((b: any) => [b.name, b.dependent]), [[i2, true], [i1, false]]);
    assert.deepEqual(await archives(dir), [full]);
  });

  test('delete --consolidate keeps the restore points of the backups that build on it, each as a full backup', async () => {
    const dir = path.join(root, 'chain-consolidate');
    const [full, i1, i2] = await history(dir, ['2026-09-11T02:00:00Z', '2026-09-12T02:00:00Z', '2026-09-13T02:00:00Z'], [{}, { backupType: 'incremental' }, { backupType: 'incremental' }]);
    const noPw = await runCli(['backup', 'delete', path.join(dir, full!), '--consolidate', '--json']);
    assert.deepEqual([noPw.code, noPw.json.error.code], [2, 'PASSWORD_REQUIRED']);
    const r = await runCli(['backup', 'delete', path.join(dir, full!), '--consolidate', '--password-file', pwFile, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.json.consolidated.map((c: any) => path.basename(c.from)), [i1, i2]);
    assert.deepEqual(r.json.backups.map((b: any) => b.name), [i2, i1, full]);
    const { backups } = await list({ dir });
    assert.deepEqual(backups.map((b) => [b.name, b.type]), [['aico-backup-20260913-020000-2.tar.zst.enc', 'full'], ['aico-backup-20260912-020000-2.tar.zst.enc', 'full']]);
    for (const [b, day] of [[backups[0]!, '13'], [backups[1]!, '12']] as const) {
      const target = path.join(root, `delete-consolidated-${day}`);
      await restore({ path: b.path, home, target, password: async () => Buffer.from('cleanup-pw'), safetyBackupDir: null });
      assert.equal(await fs.readFile(path.join(target, 'config', 'when.yaml'), 'utf8'), `at: 2026-09-${day}T02:00:00Z\n`);
    }
  });

  test('create --time records the given local time; a time a DST change skips, a future time and nonsense are refused', async () => {
    const dir = path.join(root, 'timed');
    const zurich = { TZ: 'Europe/Zurich', AICO_BACKUP_PASSWORD: 'cleanup-pw' };
    const made = await runCli(['--home', home, 'backup', 'create', '-o', dir, '--include', 'config', '--time', '2026-03-29 03:30', '--json'], { env: zurich });
    assert.equal(made.code, 0, made.stdout + made.stderr);
    assert.equal(made.json.backup.created, '2026-03-29T01:30:00.000Z');
    assert.equal(path.basename(made.json.backup.path), 'aico-backup-20260329-013000.tar.zst.enc');
    for (const [time, why] of [['2026-03-29 02:30', /does not exist in the local time zone/], ['2999-01-01 00:00', /is in the future/], ['yesterday', /is not a time/], ['2026-02-30 10:00', /is not a valid date/]] as const) {
      const r = await runCli(['--home', home, 'backup', 'create', '-o', dir, '--include', 'config', '--time', time, '--json'], { env: zurich });
      assert.deepEqual([r.code, r.json.error.code], [2, 'USAGE'], time);
      assert.match(r.json.error.message, why);
    }
    // An incremental with an earlier --time than its only candidate has nothing older to build on.
    const earlier = await runCli(['--home', home, 'backup', 'create', '-o', dir, '--include', 'config', '--type', 'incremental', '--time', '2026-03-28 10:00', '--json'], { env: zurich });
    assert.deepEqual([earlier.code, earlier.json.error.code], [14, 'NO_PARENT']);
    assert.equal((await archives(dir)).length, 1);
  });

  test('--consolidate: a kept incremental whose chain is kept only for it becomes a full backup, and the chain goes', async () => {
    const dir = path.join(root, 'consolidate-cleanup');
    const names = await history(dir, ['2026-10-01T02:00:00Z', '2026-10-02T02:00:00Z', '2026-10-03T02:00:00Z', '2026-10-04T02:00:00Z'], [{}, { backupType: 'incremental' }, { backupType: 'incremental' }, { backupType: 'incremental' }]);
    const dry = await cleanupCli([dir, '--keep-last', '1', '--consolidate', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.deepEqual(dry.json.consolidated, [{ from: path.join(dir, names[3]!), to: null }]);
    assert.deepEqual(await archives(dir), [...names].sort());
    const r = await cleanupCli([dir, '--keep-last', '1', '--consolidate', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const full = r.json.consolidated[0].to as string;
    assert.equal(path.basename(full), 'aico-backup-20261004-020000-2.tar.zst.enc');
    assert.deepEqual(await archives(dir), [path.basename(full)]);
    assert.deepEqual(r.json.backups.find((b: any) => b.name === names[3]).reasons, [`replaced by ${path.basename(full)}`]);
    const target = path.join(root, 'consolidated-restore');
    await restore({ path: full, home, target, password: async () => Buffer.from('cleanup-pw'), safetyBackupDir: null });
    assert.equal(await fs.readFile(path.join(target, 'config', 'when.yaml'), 'utf8'), 'at: 2026-10-04T02:00:00Z\n');
  });
});
