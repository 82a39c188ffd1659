import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { isAicoError } from '../../../src/engine/errors.js';
import { seedChroma, type SeedChromaResult } from '../../../src/engine/sample/seed-chroma.js';
import { serverCheck } from '../../../src/engine/sources/chroma-check.js';
import { BIN, runCli, tempDir, ROOT } from '../../helpers.js';
import { alive, accepts as connects } from './probes.js';

// Records go to a directory of this test's own, not the user's.
process.env.XDG_RUNTIME_DIR = tempDir('aico-runtime-');
const RECORDS = path.join(process.env.XDG_RUNTIME_DIR, 'aico-backup');

const ADAPTER = pathToFileURL(path.join(ROOT, 'src/engine/sources/chroma.ts')).href;
const store = path.join(tempDir('aico-chroma-private-'), 'semantic');
let seeded: SeedChromaResult;

before(async () => {
  seeded = await seedChroma(store, { seed: 5, conversations: 40, facts: 10 });
});

/** Whether this machine lets an unprivileged process make a network namespace with a working loopback (checked without our code). */
const userNamespaces =
  process.platform === 'linux' && spawnSync('unshare', ['--user', '--map-root-user', '--net', '--', 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' }).status === 0;
const needsNamespaces = userNamespaces ? {} : { skip: 'this machine cannot make user and network namespaces (unshare -rn, ip)' };

interface Validation {
  ok: boolean;
  counts: { collections?: Record<string, number> };
  problems: string[];
  warnings: { code: string; message: string }[];
}

/** A process that validates `dir` the way restore does and prints the result. */
function validator(dir: string) {
  const code = `const { chromaAdapter } = await import(${JSON.stringify(ADAPTER)});
    const warnings = [];
    const r = await chromaAdapter.validate(${JSON.stringify(dir)}, { libsqlKey: null, warn: (code, message) => warnings.push({ code, message }) });
    process.stdout.write(JSON.stringify({ ...r, warnings }));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'], cwd: ROOT });
  const result = new Promise<Validation>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.once('close', (code, signal) => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`the validator exited (${code ?? signal}) without a result: ${out}`));
      }
    });
  });
  return { child, result };
}

/** The Chroma server process serving `dir`'s throwaway copy, or `exact` itself (found through /proc), with its port and its parent's pid. */
async function serverIn(dir: string, exact?: string): Promise<{ pid: number; port: number; ppid: number } | null> {
  for (const pid of (await fs.readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!argv.some((a) => /\/chroma-child\.(js|ts)$/.test(a))) continue;
    const at = argv.indexOf('--path');
    const served = argv[at + 1] ?? '';
    if (at < 0 || !(exact ? served === exact : served.startsWith(path.join(path.dirname(dir), '.chroma-validate-')))) continue;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { pid: Number(pid), port: Number(argv[argv.indexOf('--port') + 1]), ppid };
  }
  return null;
}

/** Whether `pid` has a TCP socket listening on `port`, as seen from its own network namespace. */
async function listening(pid: number, port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const tables = await Promise.all(['tcp', 'tcp6'].map((t) => fs.readFile(`/proc/${pid}/net/${t}`, 'utf8').catch(() => '')));
  return tables.join('\n').split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1]?.endsWith(`:${hex}`) && f[3] === '0A';
  });
}

/** Polls until `check` gives a value (a bound on waiting, not a timing assertion). */
async function until<T>(what: string, check: () => Promise<T | null | false> | T | null | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) return assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function copyOf(dir: string): Promise<string> {
  const dest = path.join(tempDir('aico-chroma-private-copy-'), 'semantic');
  await fs.cp(dir, dest, { recursive: true });
  return dest;
}

describe('the validation server is private to the validation', () => {
  test('while it runs, nothing outside the validation can connect to it; the validation still reads every collection', needsNamespaces, async () => {
    const dir = await copyOf(store);
    const { child, result } = validator(dir);
    let paused: number | undefined;
    try {
      const server = await until('the validation server to start', () => serverIn(dir));
      // Its client waits, so the server stays up as long as this test needs it.
      process.kill(server.ppid, 'SIGSTOP');
      paused = server.ppid;
      await until('the server to listen', () => listening(server.pid, server.port));
      assert.equal(await connects(server.port), false, `another process connected to the validation server on 127.0.0.1:${server.port}`);
      // Recorded where the next run, outside any namespace, looks for leftovers.
      assert.deepEqual(await fs.readdir(RECORDS), [`chroma-${server.pid}.json`]);
      process.kill(server.ppid, 'SIGCONT');
      paused = undefined;
      const validation = await result;
      assert.deepEqual(validation.problems, []);
      assert.deepEqual(validation.counts.collections, seeded.collections);
      assert.deepEqual(validation.warnings, []);
    } finally {
      if (paused) process.kill(paused, 'SIGCONT');
      child.kill('SIGKILL');
    }
  });

  test('the server still dies with the process that started the validation', needsNamespaces, async () => {
    const dir = await copyOf(store);
    const { child, result } = validator(dir);
    result.catch(() => {});
    const server = await until('the validation server to start', () => serverIn(dir));
    child.kill('SIGKILL');
    try {
      await until('the server to exit', () => !alive(server.pid), 10_000);
    } finally {
      if (alive(server.pid)) process.kill(server.pid, 'SIGKILL');
    }
  });

  test('an abort while the server runs cancels the check and leaves nothing running', needsNamespaces, async () => {
    const dir = await copyOf(store);
    const controller = new AbortController();
    const check = serverCheck(dir, { signal: controller.signal });
    const server = await until('the validation server to start', () => serverIn(dir, dir));
    controller.abort();
    await assert.rejects(check, (error: unknown) => isAicoError(error, 'CANCELLED'));
    await until('the server to exit', () => !alive(server.pid), 10_000);
    assert.deepEqual(await fs.readdir(RECORDS), [], 'its record is forgotten');
  });

  test('where no namespace can be made, restore validates the store unisolated and warns that it did', needsNamespaces, async () => {
    const dir = tempDir('aico-chroma-private-cli-');
    const home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, 'data', 'memory'), { recursive: true });
    await fs.cp(store, path.join(home, 'data', 'memory', 'semantic'), { recursive: true });
    const env = { ...process.env, AICO_BACKUP_PASSWORD: undefined, AICO_MASTER_KEY: undefined, XDG_STATE_HOME: path.join(dir, 'state') };
    const create = await runCli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '--include', 'chromadb', '-o', path.join(dir, 'backups')], { env });
    assert.equal(create.code, 0, create.stderr);
    // A user namespace in which no further one may be made: as on a kernel with them turned off.
    const nested = ['unshare', '--user', '--map-root-user', '--', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', 'sh'];
    const restore = spawnSync(nested[0]!, [...nested.slice(1), process.execPath, BIN, '--home', path.join(dir, 'target'), '--json', 'backup', 'restore', create.json.backup.path, '--no-safety-backup'], {
      env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv,
      encoding: 'utf8',
    });
    assert.equal(restore.status, 0, restore.stderr);
    const result = JSON.parse(restore.stdout);
    assert.deepEqual(result.warnings.map((w: { code: string }) => w.code), ['CHROMA_NOT_ISOLATED']);
    assert.match(result.warnings[0].message, /private network namespace: .*other local users could connect to it/);
    assert.deepEqual(result.databases.find((d: { name: string }) => d.name === 'chromadb').validation.counts.collections, seeded.collections);
  });
});
