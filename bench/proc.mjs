// Child processes for the bench: each contender runs under GNU time, so the
// peak RSS we report is the command's own (the largest process it waited
// for), not this script's.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export class CommandFailed extends Error {}

// Children get their own process group (GNU time ignores SIGINT), so Ctrl-C is ours to forward:
// stop the running commands, let them exit, then clean up as on any failure.
const running = new Set();
export let interrupted = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupted = signal;
    for (const child of running) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    }
  });
}

let timeSeq = 0;
const PAGE = 4096;
const SAMPLE_MS = 200;

/** Sum of the resident sets of pid and all its descendants, in KiB (0 once they are gone). */
async function treeRssKiB(root) {
  const parent = new Map();
  const rss = new Map();
  for (const name of await fs.readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8');
      // Fields after the parenthesised command name: state ppid ... rss is field 24 (index 21 here).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      rss.set(Number(name), Number(fields[21]));
    } catch {
      // exited while we looked
    }
  }
  let total = 0;
  for (const [pid, pages] of rss) {
    for (let p = pid; p > 1; p = parent.get(p) ?? 0) {
      if (p === root) {
        total += pages;
        break;
      }
    }
  }
  return (total * PAGE) / 1024;
}

/**
 * Runs argv under /usr/bin/time; resolves to { wall seconds, rssKiB, treeRssKiB, stdout, stderr }.
 * rssKiB is GNU time's: the largest single process. treeRssKiB is the largest sum over the
 * whole process tree (aico's database helpers, a pipeline's stages), sampled every 200 ms,
 * so it can miss a short peak. The wall time is our own monotonic clock (GNU time's %e has
 * 10 ms steps, too coarse for `aico --help`).
 */
export async function timed(argv, { env = process.env, cwd, tmp = os.tmpdir() } = {}) {
  if (interrupted) throw new CommandFailed('interrupted');
  const timeFile = path.join(tmp, `.bench-time-${process.pid}-${++timeSeq}`);
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-o', timeFile, '-f', '%M', ...argv], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let treePeak = 0;
  let sampling = null;
  const sampler = setInterval(() => {
    sampling ??= treeRssKiB(child.pid)
      .then((kib) => (treePeak = Math.max(treePeak, kib)))
      .finally(() => (sampling = null));
  }, SAMPLE_MS);
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => {
    clearInterval(sampler);
    running.delete(child);
  });
  const wall = (performance.now() - started) / 1000;
  await sampling;
  const timeText = await fs.readFile(timeFile, 'utf8').catch(() => '');
  await fs.rm(timeFile, { force: true });
  if (interrupted) throw new CommandFailed('interrupted');
  if (code !== 0) throw new CommandFailed(`command failed (exit ${code}): ${argv.join(' ')}\n${stderr.trim().split('\n').slice(-20).join('\n')}`);
  // On failure GNU time prefixes a "Command exited..." line, so read only the last one.
  const rssKiB = Number(timeText.trim().split('\n').pop());
  // A command shorter than one sample still has GNU time's figure: never report less than that.
  return { wall, rssKiB, treeRssKiB: Math.max(treePeak, rssKiB || 0), stdout, stderr };
}

/** Runs a bash pipeline under time (pipefail: a failing stage fails the run). */
export const sh = (script, opts = {}) => timed(['bash', '-c', `set -euo pipefail; ${script}`], opts);

/** Shell quoting for the pipelines above. */
export const q = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

/** A long-lived helper (the libSQL writer): started in its own group so Ctrl-C reaches it too. */
export function startHelper(argv, { env = process.env } = {}) {
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  child.on('close', () => running.delete(child));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = [];
  const waiters = [];
  let buffer = '';
  child.stdout.on('data', (d) => {
    buffer += d;
    for (let i; (i = buffer.indexOf('\n')) >= 0; ) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiters.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  child.on('close', (code) => {
    for (const w of waiters.splice(0)) w.reject(new CommandFailed(`${argv.join(' ')} exited (${code}): ${stderr.trim()}`));
  });
  return {
    child,
    /** The next line it prints. */
    nextLine: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift())
        : new Promise((resolve, reject) => {
            if (child.exitCode !== null) reject(new CommandFailed(`${argv.join(' ')} exited (${child.exitCode}): ${stderr.trim()}`));
            else waiters.push({ resolve, reject });
          }),
    stop: () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
  };
}

/** Runs a command for its output (version probes); null when it is not installed or fails. */
export async function probe(argv) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', () => resolve(null));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : null));
  });
}
