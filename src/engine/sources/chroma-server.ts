import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AicoError, cancelledError } from '../errors.js';
import { reapLeftovers, recordServer } from './chroma-leftovers.js';

export interface ChromaServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export interface StartChromaOptions {
  signal?: AbortSignal;
  /** How long to wait for the first heartbeat. */
  timeoutMs?: number;
}

const HOST = '127.0.0.1';
const OUTPUT_TAIL = 8 * 1024;
const KILL_AFTER_MS = 5_000;
const PORT_ATTEMPTS = 4;

/** Servers still running (with the function that forgets their record), killed when this process exits. */
const live = new Map<ChildProcess, () => void>();
process.on('exit', () => {
  for (const [child, forget] of live) {
    child.kill('SIGKILL');
    forget();
  }
});

let cliPath: string | undefined;

/**
 * The CLI the chromadb package ships. Its package.json is not in "exports", so
 * resolve the main entry and walk up to the package root.
 */
function chromaCli(): string {
  if (cliPath) return cliPath;
  let dir = path.dirname(createRequire(import.meta.url).resolve('chromadb'));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'chromadb') break;
    const up = path.dirname(dir);
    if (up === dir) throw new AicoError('INTERNAL', 'Cannot find the chromadb package root.');
    dir = up;
  }
  cliPath = path.join(dir, 'dist', 'cli.mjs');
  return cliPath;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Keeps only the last `max` characters, so a chatty server cannot grow memory. */
class Tail {
  private text = '';
  constructor(private readonly max: number) {}
  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.max);
  }
  toString(): string {
    // eslint-disable-next-line no-control-regex
    return this.text.replace(/\x1b\[[0-9;]*m/g, '').trim();
  }
}

/** The panic message when the server panicked (its backtrace says little), else the last lines. */
function lastLines(tail: string): string {
  const all = tail.split('\n').map((l) => l.trim()).filter(Boolean);
  const panic = all.findIndex((l) => / panicked at /.test(l));
  const lines = panic >= 0 ? all.slice(panic, panic + 2) : all.slice(-5);
  return lines.length ? ` Server output:\n  ${lines.join('\n  ')}` : '';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function heartbeat(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(1_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  // No pid: the spawn itself failed and there is nothing to stop.
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    if (!(await waitExit(child, KILL_AFTER_MS))) {
      child.kill('SIGKILL');
      await waitExit(child, KILL_AFTER_MS);
    }
  }
  live.get(child)?.();
  live.delete(child);
}

/**
 * The server runs under chroma-child, which kills it when its stdin (this
 * pipe) closes, i.e. when this process dies, however it dies. It listens on
 * loopback without authentication (the Chroma 1.x server has neither Unix
 * sockets nor auth), so only for as long as a validation takes, on a 0700
 * throwaway copy.
 */
export function spawnChromaProcess(persistDir: string, port: number): ChildProcess {
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(`./chroma-child.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return spawn(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), script, chromaCli(), 'run', '--path', persistDir, '--host', HOST, '--port', String(port)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // No backtrace: nobody reads it, symbolizing it makes a failing start seconds slower, and it would push the panic message out of the tail.
    env: { ...process.env, ANONYMIZED_TELEMETRY: 'False', NO_COLOR: '1', RUST_BACKTRACE: '0' },
  });
}

type Attempt = { server: ChromaServer } | { portTaken: true };

async function attempt(persistDir: string, port: number, opts: StartChromaOptions): Promise<Attempt> {
  const url = `http://${HOST}:${port}`;
  const output = new Tail(OUTPUT_TAIL);
  const child = spawnChromaProcess(persistDir, port);
  live.set(child, child.pid === undefined ? () => {} : recordServer(child.pid, persistDir));
  // The pipe only signals our death; writing to it after the server died must not throw.
  child.stdin!.on('error', () => {});
  child.stdout!.on('data', (d) => output.push(d));
  child.stderr!.on('data', (d) => output.push(d));
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));

  const onAbort = () => void kill(child);
  const stop = async () => {
    opts.signal?.removeEventListener('abort', onAbort);
    await kill(child);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    for (;;) {
      if (opts.signal?.aborted) throw cancelledError();
      const exited = child.exitCode !== null || child.signalCode !== null || spawnError;
      if (exited) {
        const tail = output.toString();
        // Chroma 1.0 says "Address 127.0.0.1:N is not available" and exits 0 when it loses the port race.
        if (/is not available|address already in use|os error 98/i.test(tail)) {
          await stop();
          return { portTaken: true };
        }
        const why = spawnError?.message ?? `code ${child.exitCode ?? child.signalCode}`;
        throw new AicoError('DATABASE_INVALID', `The Chroma server for ${persistDir} exited during startup (${why}).${lastLines(tail)}`, {
          details: { output: tail.slice(-2000) },
        });
      }
      // A heartbeat is only ours while our child is alive; checked again below.
      if (await heartbeat(url)) {
        if (child.exitCode === null && child.signalCode === null) break;
        continue;
      }
      if (Date.now() > deadline) {
        const tail = output.toString();
        throw new AicoError('DATABASE_INVALID', `The Chroma server for ${persistDir} did not answer within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s.${lastLines(tail)}`, {
          details: { output: tail.slice(-2000) },
        });
      }
      await sleep(50);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { server: { url, port, pid: child.pid!, stop } };
}

/**
 * Runs the Chroma server the npm package ships on `persistDir`, bound to
 * loopback on a free port, and resolves once it answers its heartbeat.
 * The caller must call stop(); an aborted signal stops it too.
 */
export async function startChroma(persistDir: string, opts: StartChromaOptions = {}): Promise<ChromaServer> {
  await reapLeftovers();
  for (let i = 0; i < PORT_ATTEMPTS; i++) {
    const result = await attempt(path.resolve(persistDir), await freePort(), opts);
    if ('server' in result) return result.server;
  }
  throw new AicoError('IO_ERROR', `Could not find a free port for the Chroma server after ${PORT_ATTEMPTS} attempts.`);
}
