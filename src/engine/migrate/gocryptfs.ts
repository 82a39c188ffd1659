import { spawn } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';

/** gocryptfs's documented exit codes (gocryptfs(1), EXIT CODES). */
const EXIT = { notEmpty: 6, mountpointNotEmpty: 10, wrongPassword: 12, emptyPassword: 22, noConfig: 23, cannotWriteConfig: 24, fsckErrors: 26 } as const;

export interface GocryptfsEnv {
  env?: NodeJS.ProcessEnv;
}

/** The FUSE device; $AICO_FUSE_DEVICE names another (tests point it at a missing path to see the error a container gives). */
const fuseDevice = (env: NodeJS.ProcessEnv) => env.AICO_FUSE_DEVICE || '/dev/fuse';

async function onPath(name: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const p = path.join(dir, name);
    if (await fs.access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return null;
}

/**
 * What a migration needs of the machine: gocryptfs (and gocryptfs-xray, which
 * reads the master key back once), fusermount3, and a FUSE device this user
 * can open. Each missing piece is FUSE_UNAVAILABLE with what to install or change.
 */
export async function checkTools(opts: GocryptfsEnv = {}): Promise<{ gocryptfs: string; xray: string; fusermount: string }> {
  const env = opts.env ?? process.env;
  const [gocryptfs, xray, fusermount] = await Promise.all([onPath('gocryptfs', env), onPath('gocryptfs-xray', env), onPath('fusermount3', env)]);
  if (!gocryptfs || !xray) {
    throw new AicoError('FUSE_UNAVAILABLE', 'gocryptfs is not installed, so the AICO home cannot be encrypted with it.', { hint: 'Install it (Debian and Ubuntu: sudo apt-get install gocryptfs fuse3; Fedora: sudo dnf install gocryptfs), then run this again.' });
  }
  if (!fusermount) {
    throw new AicoError('FUSE_UNAVAILABLE', 'fusermount3 is not installed: a gocryptfs filesystem could be mounted but never unmounted by you.', { hint: 'Install FUSE 3 (Debian and Ubuntu: sudo apt-get install fuse3), then run this again.' });
  }
  const device = fuseDevice(env);
  const usable = await fs.access(device, constants.R_OK | constants.W_OK).then(() => true, (e: NodeJS.ErrnoException) => e.code);
  if (usable !== true) {
    throw new AicoError('FUSE_UNAVAILABLE', usable === 'ENOENT' ? `fuse device not found (${device}): this system (often a container) has no FUSE.` : `The FUSE device ${device} cannot be opened by this user (${usable}).`, {
      hint: usable === 'ENOENT'
        ? 'On a normal Linux system: sudo modprobe fuse. In a container: start it with --device /dev/fuse --cap-add SYS_ADMIN. Nothing was changed.'
        : `Add yourself to the group that owns ${device} (often "fuse"), or ask the administrator. Nothing was changed.`,
    });
  }
  return { gocryptfs, xray, fusermount };
}

/** Runs a tool with the password on its standard input (never in argv), and returns what it printed. */
function run(cmd: string, args: string[], password: Buffer | null, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr: stderr.replace(/^Switch\w*ToSyslog: .*\n?/gm, '') }));
    child.stdin.end(password ? Buffer.concat([password, Buffer.from('\n')]) : undefined);
  });
}

function failure(what: string, r: { code: number; stderr: string }, where: string): AicoError {
  const said = r.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' ');
  if (r.code === EXIT.wrongPassword) return new AicoError('WRONG_PASSWORD', `The password does not open the encrypted AICO data in ${where}.`, { hint: 'Give the password chosen when it was encrypted (the keyring has it if it was stored).' });
  if (/fuse: device not found|fuse device not found|\/dev\/fuse/i.test(said)) {
    return new AicoError('FUSE_UNAVAILABLE', `fuse device not found: ${what} ${where} failed (${said}).`, { hint: 'In a container: --device /dev/fuse --cap-add SYS_ADMIN; elsewhere: sudo modprobe fuse.' });
  }
  if (r.code === EXIT.notEmpty) return new AicoError('USAGE', `${where} is not empty; gocryptfs encrypts into an empty directory only.`, { hint: 'Choose a new or empty directory with --output.' });
  if (r.code === EXIT.mountpointNotEmpty) return new AicoError('USAGE', `The mount point ${where} is not empty.`, { hint: 'Mount on an empty directory.' });
  if (r.code === EXIT.noConfig) return new AicoError('NOT_FOUND', `${where} holds no gocryptfs.conf: it is not a gocryptfs directory.`);
  if (r.code === EXIT.fsckErrors) return new AicoError('CHECKSUM_MISMATCH', `gocryptfs -fsck found damage in ${where}: ${said}`, { hint: 'Do not switch to it; the plaintext home is unchanged. Roll back (aico backup migrate rollback) and run the migration again.' });
  return new AicoError('IO_ERROR', `gocryptfs ${what} ${where} failed (exit ${r.code}): ${said}`);
}

/** `gocryptfs -init`, then the master key read back once with gocryptfs-xray (gocryptfs prints it only on a terminal). */
export async function initCipherDir(cipherDir: string, password: Buffer, opts: GocryptfsEnv = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const tools = await checkTools(opts);
  // Tests only: a cheaper scrypt (gocryptfs's default, N = 2^16, costs each mount and check about a second of CPU).
  const scrypt = /^\d+$/.test(env.AICO_TEST_GOCRYPTFS_SCRYPTN ?? '') ? ['-scryptn', env.AICO_TEST_GOCRYPTFS_SCRYPTN!] : [];
  const r = await run(tools.gocryptfs, ['-init', '-q', ...scrypt, '--', cipherDir], password, env);
  if (r.code !== 0) throw failure('-init of', r, cipherDir);
  const key = await run(tools.xray, ['-dumpmasterkey', path.join(cipherDir, 'gocryptfs.conf')], password, env);
  const hex = key.stdout.trim();
  if (key.code !== 0 || !/^[0-9a-f]{64}$/.test(hex)) throw failure('-dumpmasterkey of', key, cipherDir);
  // The form gocryptfs prints and takes back with -masterkey: eight groups of eight hex digits.
  return hex.match(/.{8}/g)!.join('-');
}

export async function mountCipherDir(cipherDir: string, mountPoint: string, password: Buffer, opts: GocryptfsEnv = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const tools = await checkTools(opts);
  const r = await run(tools.gocryptfs, ['-q', '--', cipherDir, mountPoint], password, env);
  if (r.code !== 0) throw failure('mount of', r, cipherDir);
}

export async function unmount(mountPoint: string, opts: GocryptfsEnv = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const tools = await checkTools(opts);
  let r = await run(tools.fusermount, ['-u', '--', mountPoint], null, env);
  // A database engine just closed (the Chroma server of a validation takes seconds to exit after it answers): busy for a while.
  for (let i = 0; r.code !== 0 && /busy/i.test(r.stderr) && i < 120; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    r = await run(tools.fusermount, ['-u', '--', mountPoint], null, env);
  }
  if (r.code !== 0) {
    throw new AicoError('DATABASE_IN_USE', `${mountPoint} cannot be unmounted: ${r.stderr.trim() || `fusermount3 exit ${r.code}`}.`, { hint: 'Stop what uses it (AICO, a shell inside it), then try again.' });
  }
}

export async function fsckCipherDir(cipherDir: string, password: Buffer, opts: GocryptfsEnv = {}): Promise<void> {
  const env = opts.env ?? process.env;
  const tools = await checkTools(opts);
  const r = await run(tools.gocryptfs, ['-fsck', '-q', '--', cipherDir], password, env);
  if (r.code !== 0) throw failure('-fsck of', r, cipherDir);
}

/** Whether `dir` is a mount point of a gocryptfs filesystem now (from /proc/self/mountinfo). */
export async function isMounted(dir: string): Promise<boolean> {
  const target = path.resolve(dir);
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return info.split('\n').some((line) => {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    const mountPoint = (fields[4] ?? '').replace(/\\040/g, ' ');
    return mountPoint === target && sep > 0 && /fuse\.gocryptfs/.test(fields[sep + 1] ?? '');
  });
}
