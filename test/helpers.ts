import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = path.join(ROOT, 'bin', 'aico.js');

/** A temporary directory removed after the test file finishes. */
export function tempDir(prefix = 'aico-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs the built CLI (bin/aico.js) without a TTY. */
export function runCli(args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, AICO_BACKUP_PASSWORD: undefined, AICO_HOME: undefined, ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let json: unknown = null;
      try {
        json = JSON.parse(stdout);
      } catch {
        /* not JSON */
      }
      resolve({ code, signal, stdout, stderr, json });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * path -> sha256 of every regular file under dir (relative, posix). Paths matching `skip` are never opened.
 */
export async function treeHashes(dir: string, skip?: RegExp): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string, rel: string) {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip?.test(r)) continue;
      if (e.isDirectory()) await walk(p, r);
      else if (e.isFile()) {
        const bytes = await fs.readFile(p).catch((error) => {
          // SQLite removes a -wal or -shm when the last connection closes, which may be between readdir and here.
          if (error.code === 'ENOENT' && /-(wal|shm)$/.test(e.name)) return null;
          throw error;
        });
        if (bytes) out[r] = createHash('sha256').update(bytes).digest('hex');
      }
    }
  }
  await walk(dir, '');
  return out;
}

/** Where a seedFiles() home's files go in an archive (include models, cache, config). */
export const FILES_LAYOUT: [string, string][] = [
  ['models/', 'extras/models/'],
  ['cache/', 'extras/cache/'],
  ['config/', 'config/'],
];

/** Where the databases of a home go in an archive (FORMAT.md). */
export const DATABASE_LAYOUT: [string, string][] = [
  ['data/aico.db', 'databases/aico.db'],
  ['data/aico.db.salt', 'databases/aico.db.salt'],
  ['data/memory/semantic/', 'databases/semantic/'],
  ['data/memory/working/', 'databases/working/'],
  ['config/', 'config/'],
];

/** A home's files as they should appear inside an archive. */
export function expectedArchiveTree(homeHashes: Record<string, string>, map: [string, string][] = FILES_LAYOUT): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, hash] of Object.entries(homeHashes)) {
    for (const [from, to] of map) {
      if (rel === from || (from.endsWith('/') && rel.startsWith(from))) out[to + rel.slice(from.length)] = hash;
    }
  }
  return out;
}

export interface HeldVerify {
  pid: number;
  /** Resumes the reader (SIGCONT). */
  resume(): void;
  /** Its exit code, once it ended; stdout and stderr as written. */
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/**
 * `aico --json backup verify FILE`, held with SIGSTOP mid-read (a progress event short of the
 * end), so whatever the machine's speed it has the archive open while the caller acts on it.
 * It runs in one process (malloc already set, so bin/aico.js does not start a child): the
 * signal must hold the reader itself.
 */
export async function startHeldVerify(file: string): Promise<HeldVerify> {
  const child = spawn(process.execPath, [BIN, '--json', 'backup', 'verify', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '4194304' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  let stopped = false;
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stopped) return;
      const lines = stderr.slice(0, stderr.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
      const events = lines.map((l) => JSON.parse(l) as { type: string; bytesDone?: number; bytesTotal?: number });
      if (events.some((e) => e.type === 'progress' && (e.bytesDone ?? 0) < (e.bytesTotal ?? 0))) {
        stopped = child.kill('SIGSTOP');
        resolve();
      }
    });
    child.on('close', () => reject(new Error(`verify ended before it was stopped midway:\n${stderr}`)));
  });
  return { pid: child.pid!, resume: () => child.kill('SIGCONT'), exited };
}

/** Unmounts a FUSE mount a test made, waiting while it is still busy (a process that used it is still exiting). */
export async function unmountWhenFree(mountPoint: string): Promise<void> {
  const mounted = async () => (await fs.readFile('/proc/self/mounts', 'utf8').catch(() => '')).split('\n').some((l) => l.split(' ')[1] === mountPoint);
  for (let i = 0; i < 40 && (await mounted()); i++) {
    const r = spawnSync('fusermount3', ['-u', mountPoint], { encoding: 'utf8' });
    if (r.status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (await mounted()) spawnSync('fusermount3', ['-u', '-z', mountPoint]);
}
