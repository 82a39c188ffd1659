import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { sampleMasterKey, seedSample } from '../../src/engine/index.js';
import { BIN, runCli, tempDir, treeHashes, type CliResult } from '../helpers.js';
import { hasTmux, TmuxSession } from '../e2e/tmux.js';
import { startS3, S3_KEY } from '../s3-server.js';
import { startSecretService } from '../secret-service.js';

/**
 * Every command against a bucket of a real S3 server (s3rver, in its own
 * process so it can be killed mid-upload), through the built CLI.
 */
const root = tempDir('aico-remote-');
const home = path.join(root, 'home');
const s3 = await startS3();
const tmuxMissing = !(await hasTmux());
const env = {
  ...s3.env,
  XDG_CACHE_HOME: path.join(root, 'cache'),
  AICO_BACKUP_PASSWORD: 'remote-test-password',
  AICO_MASTER_KEY: sampleMasterKey(42),
};
const seen: CliResult[] = [];
const cli = async (args: string[], more: Record<string, string | undefined> = {}, input?: string) => {
  const r = await runCli(['--home', home, ...args], { env: { ...env, ...more }, ...(input ? { input } : {}) });
  seen.push(r);
  return r;
};
/** Files in the spool directories (outgoing/<bucket>-<id>/NAME); readdir's own recursive mode can hang on Node 20. */
const spooled = async (): Promise<string[]> => {
  const spool = path.join(root, 'cache', 'aico-backup', 'outgoing');
  const dirs = await fs.readdir(spool).catch(() => [] as string[]);
  return (await Promise.all(dirs.map(async (d) => (await fs.readdir(path.join(spool, d)).catch(() => [] as string[])).map((n) => path.join(spool, d, n))))).flat();
};
/** The pid of the CLI once it has stopped itself (AICO_FAULT_STOP). */
async function stoppedCli(marker = 's3://backups/big'): Promise<number> {
  for (let i = 0; i < 6000; i++) {
    for (const pid of await fs.readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'T') continue;
      if ((await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes(marker)) return Number(pid);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the CLI never stopped at its fault point');
}
const names = async (url: string) => ((await cli(['backup', 'list', url, '--json'])).json.backups as Array<{ name: string }>).map((b) => b.name).sort();

// No Chroma store: its snapshot and validation are tested on their own (test/engine/sources), and its server would double this file's time.
await seedSample({ home, sizeMb: 6, chroma: false });

describe('backups in a bucket (s3rver on 127.0.0.1)', () => {
  test('create (full, then an incremental whose parent is only in the bucket), list, verify, info, restore', async () => {
    const full = await cli(['backup', 'create', '--output', 's3://backups/home', '--json']);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.json.backup.path, /^s3:\/\/backups\/home\/aico-backup-\d{8}-\d{6}\.tar\.zst\.enc$/);
    // The local spool is empty once the upload is confirmed: the parent exists only in the bucket.
    assert.deepEqual((await spooled()).filter((n) => path.basename(n).startsWith('aico-backup-')), []);
    await cli(['demo', 'churn']);
    const inc = await cli(['backup', 'create', '--type', 'incremental', '--output', 's3://backups/home', '--json']);
    assert.equal(inc.code, 0, inc.stderr);
    assert.equal(inc.json.backup.type, 'incremental');
    assert.equal(inc.json.backup.parent_id, full.json.backup.id);
    assert.ok(inc.json.backup.stored_bytes < inc.json.backup.data_bytes / 2, 'the parent\'s block index was read from the bucket: unchanged blocks are not stored again');

    const listed = await cli(['backup', 'list', 's3://backups/home', '--json']);
    assert.deepEqual(listed.json.backups.map((b: { type: string; chain_intact: boolean | null; encrypted: boolean }) => [b.type, b.chain_intact, b.encrypted]), [['incremental', true, true], ['full', null, true]]);

    const verified = await cli(['backup', 'verify', inc.json.backup.path, '--json']);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.json.ok, true);
    const info = await cli(['backup', 'info', inc.json.backup.path, '--json']);
    assert.equal(info.json.info.metadata.id, inc.json.backup.id);

    const target = path.join(root, 'restored');
    const restored = await cli(['backup', 'restore', inc.json.backup.path, '--target', target, '--json']);
    assert.equal(restored.code, 0, restored.stderr);
    // Config byte for byte; the databases were validated through their engines by restore itself.
    const want = await treeHashes(path.join(home, 'config'));
    assert.ok(Object.keys(want).length > 0);
    assert.deepEqual(await treeHashes(path.join(target, 'config')), want);
    assert.ok((await fs.stat(path.join(target, 'data', 'aico.db'))).size > 0);
  });

  test('an upload cut off mid-way (the server killed) is kept locally and resumed by the next create; nothing half-written is listed', async () => {
    const big = path.join(root, 'big-home');
    await fs.mkdir(path.join(big, 'config'), { recursive: true });
    await fs.writeFile(path.join(big, 'config', 'blob.bin'), randomBytes(12 << 20));
    // Unencrypted and uncompressed: the upload is what is tested; 12 MiB in 5 MiB parts is 3 parts. The second
    // goes up while the archive is written if the upload is quick enough to start before the archive is done.
    const args = ['--home', big, 'backup', 'create', '--output', 's3://backups/big', '--include', 'config', '--compression', 'none', '--no-encrypt', '--json'];
    const parts = { AICO_S3_PART_MIB: '5' };
    // The CLI stops itself as the upload after the archive begins (or after its first part: part 2 did not go early); the server dies; the CLI goes on.
    const run = runCli(args, { env: { ...env, ...parts, AICO_FAULT_STOP: 'upload:1' } });
    const pid = await stoppedCli();
    assert.ok(!(await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(S3_KEY.secret), 'no secret in the argv of the running CLI');
    await s3.stop();
    process.kill(pid, 'SIGCONT');
    const cut = await run;
    seen.push(cut);
    assert.equal(cut.code, 23, cut.stdout + cut.stderr);
    assert.equal(cut.json.error.code, 'REMOTE_UNAVAILABLE');
    assert.match(cut.json.error.message, /The backup is kept at /);
    assert.match(cut.json.error.message, new RegExp(`at ${s3.endpoint.replace(/\./g, '\\.')}`), 'the endpoint is named');
    await s3.restart();
    assert.deepEqual(await names('s3://backups/big'), [], 'no object under a backup name before the upload completes');

    const resumed = await runCli(args.filter((a) => a !== '--json'), { env: { ...env, ...parts } });
    seen.push(resumed);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr + resumed.stdout, /Resuming the upload of aico-backup-\S+: [12] of 3 parts were sent by an earlier run/);
    const both = await names('s3://backups/big');
    assert.equal(both.length, 2);
    for (const name of both) {
      const v = await cli(['backup', 'verify', `s3://backups/big/${name}`, '--json']);
      assert.equal(v.json.ok, true, `${name}: ${v.stderr}`);
    }
    assert.deepEqual((await spooled()).filter((f) => f.includes('big') || path.basename(f).startsWith('aico-backup-')), [], 'the spool is empty once both uploads are confirmed');
  });

  test('a create killed mid-upload (power cut) leaves no object; the next create finishes that upload first', async () => {
    const big = path.join(root, 'big-home');
    const args = ['--home', big, 'backup', 'create', '--output', 's3://backups/killed', '--include', 'config', '--compression', 'none', '--no-encrypt', '--json'];
    const parts = { AICO_S3_PART_MIB: '5' };
    const killed = await runCli(args, { env: { ...env, ...parts, AICO_FAULT: 'upload:2' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(await names('s3://backups/killed'), []);
    assert.equal((await spooled()).filter((f) => f.endsWith('.upload.json')).length, 1, 'the journal of the upload is kept');
    const next = await runCli(args, { env: { ...env, ...parts } });
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /Resuming the upload of aico-backup-\S+: 2 of 3 parts were sent by an earlier run/);
    assert.equal((await names('s3://backups/killed')).length, 2);
  });

  test('a create killed after its upload completed, before its local copy went: the next create sees the object is that copy and goes on', async () => {
    const args = ['--home', path.join(root, 'big-home'), 'backup', 'create', '--output', 's3://backups/completed', '--include', 'config', '--compression', 'none', '--no-encrypt'];
    const killed = await runCli(args, { env: { ...env, AICO_FAULT: 'upload:completed' } });
    assert.equal(killed.signal, 'SIGKILL');
    const made = await names('s3://backups/completed');
    assert.equal(made.length, 1, 'the object was made');
    assert.equal((await spooled()).filter((f) => path.basename(f).startsWith(made[0]!)).length, 2, 'the local copy and its journal are still there');
    const next = await runCli(args, { env });
    assert.equal(next.code, 0, next.stderr);
    assert.equal((await names('s3://backups/completed')).length, 2);
    assert.deepEqual((await spooled()).filter((f) => path.basename(f).startsWith('aico-backup-')), [], 'both local copies and journals are gone');
  });

  test('parts go up while the archive is written; a create killed then leaves no object, and the next create aborts that upload', async () => {
    // 22 MiB in 5 MiB parts: parts 2 to 4 are whole before the end, and with 3 of them not yet in the bucket the writer waits.
    const home = path.join(root, 'early-home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'blob.bin'), randomBytes(22 << 20));
    const args = ['--home', home, 'backup', 'create', '--output', 's3://backups/early', '--include', 'config', '--compression', 'none', '--no-encrypt'];
    const parts = { AICO_S3_PART_MIB: '5' };
    const killed = await runCli(args, { env: { ...env, ...parts, AICO_FAULT: 'upload-early:1' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(await names('s3://backups/early'), []);
    const journals = async () => (await spooled()).filter((f) => f.endsWith('.upload.json'));
    assert.deepEqual((await journals()).length, 1, `the begun upload is journalled: ${(await spooled()).join(' ')}`);
    assert.equal(JSON.parse(await fs.readFile((await journals())[0]!, 'utf8')).size, -1, 'as one whose archive was never finished');
    assert.deepEqual((await spooled()).filter((f) => /\/aico-backup-[^/]+\.tar$/.test(f)), [], 'killed while the archive was written');

    const next = await runCli(args, { env: { ...env, ...parts } });
    assert.equal(next.code, 0, next.stderr);
    const early = /Uploading aico-backup-\S+ to s3:\/\/backups\/early\/aico-backup-\S+ \((\d) of 5 parts went up while it was written\)/.exec(next.stderr);
    assert.ok(early && Number(early[1]) >= 1, next.stderr);
    assert.doesNotMatch(next.stderr, /Resuming/, 'the killed run\'s upload was aborted, not resumed');
    assert.deepEqual(await journals(), [], 'its journal was removed');
    const made = await names('s3://backups/early');
    assert.equal(made.length, 1);
    const v = await cli(['backup', 'verify', `s3://backups/early/${made[0]}`, '--json']);
    assert.equal(v.json.ok, true, v.stderr);
    const down = path.join(root, 'early-down');
    assert.equal((await cli(['backup', 'sync', 's3://backups/early', down, '--json'])).code, 0);
    const extracted = path.join(root, 'early-x');
    await fs.mkdir(extracted);
    assert.equal(spawnSync('tar', ['-xf', path.join(down, made[0]!), '-C', extracted]).status, 0);
    assert.ok((await fs.readFile(path.join(extracted, 'config', 'blob.bin'))).equals(await fs.readFile(path.join(home, 'config', 'blob.bin'))), 'the object holds the file, byte for byte');
  });

  test('Ctrl-C during the upload: exit 130, the message says where the backup is kept, and the next create finishes the upload', async () => {
    const big = path.join(root, 'big-home');
    const args = ['--home', big, 'backup', 'create', '--output', 's3://backups/ctrlc', '--include', 'config', '--compression', 'none', '--no-encrypt', '--json'];
    const parts = { AICO_S3_PART_MIB: '5' };
    const run = runCli(args, { env: { ...env, ...parts, AICO_FAULT_STOP: 'upload:1' } });
    const pid = await stoppedCli('s3://backups/ctrlc');
    process.kill(pid, 'SIGINT');
    process.kill(pid, 'SIGCONT');
    const stopped = await run;
    assert.equal(stopped.code, 130, stopped.stdout + stopped.stderr);
    assert.equal(stopped.json.error.code, 'CANCELLED');
    assert.match(stopped.json.error.message, /^Cancelled during the upload: the backup is kept at \S+aico-backup-\S+\.tar\.$/);
    assert.deepEqual(await names('s3://backups/ctrlc'), []);
    const next = await runCli(args, { env: { ...env, ...parts } });
    assert.equal(next.code, 0, next.stderr);
    // Part 2 went up while the archive was written; a part in flight when Ctrl-C came may have finished too.
    assert.match(next.stderr, /Resuming the upload of aico-backup-\S+: [12] of 3 parts were sent by an earlier run/);
    assert.equal((await names('s3://backups/ctrlc')).length, 2);
  });

  test('sync both ways, each copy read back; --delete mirrors a cleanup; cleanup against the bucket', async () => {
    const local = path.join(root, 'local-copy');
    const down = await cli(['backup', 'sync', 's3://backups/home', local, '--json']);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(down.json.backups.map((b: { action: string }) => b.action), ['copied', 'copied']);
    const inBucket = await names('s3://backups/home');
    assert.deepEqual((await fs.readdir(local)).filter((n) => n.startsWith('aico-backup-')).sort(), inBucket);
    const up = await cli(['backup', 'sync', local, 's3://backups/mirror', '--json']);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(await names('s3://backups/mirror'), inBucket);
    const twice = await cli(['backup', 'sync', local, 's3://backups/mirror', '--json']);
    assert.deepEqual([twice.json.backups.length, twice.json.present], [0, 2]);
    // A copy cut short in the source (a full disk, a killed cp) is not carried over, where it would pass for a second good copy.
    const cut = `aico-backup-20200101-000000${inBucket[0]!.slice('aico-backup-20261202-000000'.length)}`;
    const whole = await fs.readFile(path.join(local, inBucket[0]!));
    await fs.writeFile(path.join(local, cut), whole.subarray(0, whole.length - 1000));
    const skipped = await cli(['backup', 'sync', local, 's3://backups/mirror', '--json']);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.deepEqual(skipped.json.backups.map((b: { name: string; action: string }) => [b.name, b.action]), [[cut, 'skipped']]);
    assert.match(skipped.stderr, new RegExp(`"code":"SYNC_DAMAGED".*${cut.replace(/\./g, '\\.')} was not copied: .*1000 bytes are missing.*aico backup verify`));
    assert.deepEqual(await names('s3://backups/mirror'), inBucket, 'nothing under its name in the bucket');
    await fs.rm(path.join(local, cut));

    // The incremental goes in the local copy; --delete removes it from the mirror too (its full backup stays).
    await fs.rm(path.join(local, inBucket[1]!));
    const mirrored = await cli(['backup', 'sync', local, 's3://backups/mirror', '--delete', '--json']);
    assert.equal(mirrored.code, 0, mirrored.stderr);
    assert.deepEqual(await names('s3://backups/mirror'), [inBucket[0]]);

    // cleanup in the bucket: --keep-last 1 keeps the incremental and the full backup it needs.
    const kept = await cli(['backup', 'cleanup', 's3://backups/home', '--keep-last', '1', '--json']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.json.removed, 0);
    const del = await cli(['backup', 'delete', `s3://backups/home/${inBucket[0]}`, '--json']);
    assert.equal(del.code, 16, 'the full backup has a dependent in the bucket');
    const all = await cli(['backup', 'delete', `s3://backups/home/${inBucket[0]}`, '--with-dependents', '--json']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(await names('s3://backups/home'), []);
  });

  test('a schedule writing to a bucket runs under the bucket\'s lock, cleans up there and syncs to a directory after each backup', async () => {
    const copy = path.join(root, 'scheduled-copy');
    const made = await cli(['backup', 'schedule', 'create', '--name', 'offsite', '--frequency', 'daily', '--output', 's3://backups/sched', '--sync-to', copy, '--include', 'config,libsql', '--json']);
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual([made.json.schedule.output_dir, made.json.schedule.sync_to], ['s3://backups/sched', [copy]]);
    for (let i = 0; i < 2; i++) {
      const r = await cli(['backup', 'schedule', 'run-due', '--now', 'offsite', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const run = r.json.runs[0];
      assert.deepEqual([run.ok, run.warnings, run.synced], [true, [], [{ to: copy, copied: 1, skipped: 0, deleted: 0 }]]);
      assert.match(run.backup.path, /^s3:\/\/backups\/sched\//);
    }
    const inBucket = await names('s3://backups/sched');
    assert.equal(inBucket.length, 2);
    assert.deepEqual((await fs.readdir(copy)).filter((n) => n.startsWith('aico-backup-')).sort(), inBucket);
    assert.deepEqual(await spooled().then((f) => f.filter((x) => path.basename(x).startsWith('aico-backup-'))), []);
  });

  test('a wrong key, a missing bucket and an unreachable endpoint each have their own code; no secret in any output', async () => {
    const badKey = await cli(['backup', 'list', 's3://backups/home', '--json'], { AWS_ACCESS_KEY_ID: 'NOSUCHKEY' });
    assert.deepEqual([badKey.code, badKey.json.error.code], [20, 'REMOTE_AUTH']);
    assert.match(badKey.json.error.message, new RegExp(`list s3://backups/home at ${s3.endpoint.replace(/\./g, '\\.')}`));
    const noBucket = await cli(['backup', 'list', 's3://no-such-bucket/x', '--json']);
    assert.deepEqual([noBucket.code, noBucket.json.error.code], [21, 'REMOTE_NO_BUCKET']);
    const down = await cli(['backup', 'list', 's3://backups/home', '--json'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    assert.deepEqual([down.code, down.json.error.code], [23, 'REMOTE_UNAVAILABLE']);
    for (const r of seen) {
      assert.ok(!(r.stdout + r.stderr).includes(S3_KEY.secret), 'the secret access key never appears in output');
    }
  });

  test('remote login keeps the key in the keyring (read from stdin, never argv); commands then need no AWS_* variables', async () => {
    const ss = await startSecretService();
    const noVars = { ...ss.env, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined };
    const before = await cli(['backup', 'remote', 'status', '--json'], noVars);
    assert.equal(before.json.credentials, 'aws-default-chain');
    const login = await cli(['backup', 'remote', 'login', '--json'], noVars, `${S3_KEY.id}\n${S3_KEY.secret}\n`);
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual([login.json.credentials, login.json.keyring_account], ['keyring', `s3:127.0.0.1:${s3.port}`]);
    const listed = await cli(['backup', 'list', 's3://backups/mirror', '--json'], noVars);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.json.backups.length, 1);
    const out = await cli(['backup', 'remote', 'logout', '--json'], noVars);
    assert.equal(out.json.removed, true);
    for (const r of seen) assert.ok(!(r.stdout + r.stderr).includes(S3_KEY.secret));
  });

  test('the TUI in a real terminal (tmux): o switches from the backup directory to a bucket in core.yaml\'s stores; v verifies a backup read from the bucket', { skip: tmuxMissing && 'tmux is not installed' }, async () => {
    const tuiHome = path.join(root, 'tui-home');
    const out = path.join(root, 'tui-backups');
    await fs.mkdir(path.join(tuiHome, 'config'), { recursive: true });
    await fs.writeFile(path.join(tuiHome, 'config', 'core.yaml'), `backup:\n  output_dir: ${out}\n  stores:\n    - s3://backups/mirror\n`);
    const tui = new TmuxSession();
    try {
      const vars = Object.entries({ ...env, NO_COLOR: '1', TERM: 'xterm-256color' }).map(([k, v]) => `${k}=${v}`);
      await tui.start(['env', '-u', 'DBUS_SESSION_BUS_ADDRESS', ...vars, process.execPath, BIN, '--home', tuiHome]);
      await tui.waitForScreen(`Backups in ${out} (0)`, 15_000);
      await tui.waitForScreen('Store 1 of 2 (o: next)');
      await tui.keys('o');
      const listed = await tui.waitForScreen('Backups in s3://backups/mirror (1)', 15_000);
      assert.match(listed, /full .* yes/);
      await tui.keys('v');
      await tui.waitForScreen(/OK: every segment authenticated, \d+ files match/, 30_000);
    } finally {
      await tui.kill();
    }
  });

  test('no file the commands wrote (logs, schedule state, upload journals, lock objects, core.yaml) holds the secret access key', async () => {
    const texts: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(p);
        else if (entry.isFile() && /\.(log|json|ya?ml)(\._S3rver_object)?$/.test(entry.name)) texts.push(p);
      }
    };
    await walk(root);
    await walk(s3.dir);
    assert.ok(texts.some((t) => t.endsWith('backup.log')), 'the scheduled runs wrote their log');
    for (const file of texts) assert.ok(!(await fs.readFile(file, 'utf8')).includes(S3_KEY.secret), file);
  });
});
