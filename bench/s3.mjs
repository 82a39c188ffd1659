// The bucket section of npm run bench: create, verify and restore through a real S3 server on
// 127.0.0.1 (s3rver, the server the tests use), against the same commands on a local directory,
// and restic backup/restore into the same server when restic is installed. One run.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CommandFailed, timed } from './proc.mjs';
import { startThrottle } from './throttle.mjs';

const KEY = { id: 'AICOBENCHKEY', secret: 'aico-bench-secret' };
/** The uplink of the throttled create: a fast home connection or a slow LAN. */
const UPLINK_MIB = 25;

const SERVER = `
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
AWSAccount.DUMMY_ACCOUNT.createKeyPair(process.argv[2], process.argv[3]);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[1], configureBuckets: [{ name: 'bench' }] });
const { port } = await server.run();
process.stdout.write(JSON.stringify({ port }) + '\\n');
`;

async function startServer(dir, root) {
  await fs.mkdir(dir, { recursive: true });
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER, dir, KEY.id, KEY.secret], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]).port);
    });
    child.on('exit', (code) => reject(new CommandFailed(`s3rver exited (${code}) before it listened`)));
  });
  return { port, stop: () => child.kill('SIGKILL') };
}

export async function s3Section({ source, work, aico, root, env, resticEnv, row, record, restored, log, rows }) {
  log('s3: create, verify, restore through s3rver on 127.0.0.1');
  const server = await startServer(path.join(work, 's3rver'), root);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const s3env = { ...env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, XDG_CACHE_HOME: path.join(work, 's3-cache') };
  try {
    row('s3Create', 's3', 'aico backup create --output s3:// (s3rver)');
    row('s3Uplink', 's3', `aico backup create --output s3:// (${UPLINK_MIB} MiB/s uplink)`);
    row('s3Verify', 's3', 'aico backup verify s3://…');
    row('s3Restore', 's3', 'aico backup restore s3://… (validated)');
    const created = await timed(['node', aico, '--home', source, '--json', 'backup', 'create', '--output', 's3://bench/aico', '--compression', 'zstd', '--compression-level', '3'], { env: s3env, tmp: work });
    const doc = JSON.parse(created.stdout.trim().split('\n').pop());
    record('s3Create', created, doc.backup.bytes);
    // Behind a link slower than the disk, as a real bucket is: the archive's parts go up while it is written.
    const link = await startThrottle(server.port, UPLINK_MIB);
    let uplink;
    try {
      const env = { ...s3env, AWS_ENDPOINT_URL: `http://127.0.0.1:${link.port}` };
      const r = await timed(['node', aico, '--home', source, '--json', 'backup', 'create', '--output', 's3://bench/uplink', '--compression', 'zstd', '--compression-level', '3'], { env, tmp: work });
      const bytes = JSON.parse(r.stdout.trim().split('\n').pop()).backup.bytes;
      record('s3Uplink', r, bytes);
      const early = /\((\d+) of (\d+) parts went up while it was written\)/.exec(r.stderr);
      uplink = { mib_per_s: UPLINK_MIB, seconds: r.wall, floor_seconds: bytes / (UPLINK_MIB * 1048576), early_parts: early ? Number(early[1]) : 0, parts: early ? Number(early[2]) : null };
    } finally {
      link.stop();
    }
    record('s3Verify', await timed(['node', aico, '--json', 'backup', 'verify', doc.backup.path], { env: s3env, tmp: work }));
    await restored('s3Restore', () => timed(['node', aico, '--json', 'backup', 'restore', doc.backup.path, '--target', path.join(work, 'restore', 'home'), '--no-safety-backup'], { env: s3env, tmp: work }));
    let restic = false;
    let resticError = null;
    if (resticEnv) {
      const rEnv = { ...resticEnv(await fs.mkdtemp(path.join(work, 'restic-s3-'))), RESTIC_REPOSITORY: `s3:${endpoint}/bench/restic`, AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret };
      const init = await timed(['restic', 'init', '--quiet'], { env: rEnv, tmp: work }).catch((e) => (log(`s3: restic init against s3rver failed, restic left out: ${e.message.split('\n')[0]}`), null));
      if (init) {
        // s3rver answers restic's own requests only in part (restic 0.14's backup fails on its replies): measured when it works, said when not.
        try {
          const backup = await timed(['restic', 'backup', '--quiet', '.'], { env: rEnv, cwd: source, tmp: work });
          row('s3ResticBackup', 's3', 'restic backup (s3: backend, s3rver)');
          record('s3ResticBackup', backup);
          row('s3ResticRestore', 's3', 'restic restore (s3: backend, s3rver)');
          await restored('s3ResticRestore', () => timed(['restic', 'restore', 'latest', '--quiet', '--target', path.join(work, 'restore')], { env: rEnv, tmp: work }));
          restic = true;
        } catch (error) {
          if (!(error instanceof CommandFailed)) throw error;
          delete rows?.s3ResticRestore;
          log(`s3: restic against s3rver failed, restic left out: ${error.message.split('\n').slice(-1)[0]}`);
          resticError = error.message.split('\n').slice(-1)[0];
        }
      }
    }
    return { server: 's3rver 3.7 on 127.0.0.1', endpoint, restic, restic_error: resticError, uplink };
  } finally {
    server.stop();
    await fs.rm(path.join(work, 's3rver'), { recursive: true, force: true });
  }
}
