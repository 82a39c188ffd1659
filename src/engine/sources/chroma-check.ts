import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WarningCode } from '../codes.js';
import { AicoError, cancelledError, throwIfAborted } from '../errors.js';
import { RUNTIME_DIR_ENV, runtimeDir } from './chroma-leftovers.js';
import { privateNetwork } from './chroma-netns.js';

export interface ServerCheck {
  /** Records per collection, as the server counts them. */
  collections: Record<string, number>;
  problems: string[];
}

export interface ServerCheckOptions {
  signal?: AbortSignal;
  warn?(code: WarningCode, message: string): void;
}

const KILL_AFTER_MS = 5_000;
const STDERR_TAIL = 4 * 1024;
/** Room for the answer, which comes last, whatever was printed before it. */
const STDOUT_TAIL = 1024 * 1024;

function childCommand(location: string, ip?: string): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(`./chroma-check-child.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return [process.execPath, ...(fromSource ? ['--import', 'tsx'] : []), script, location, ...(ip ? [ip] : [])];
}

/**
 * Runs the real Chroma server on `location` (a throwaway copy) and asks it
 * for every collection's count, one record and one query. The server has no
 * authentication, so where Linux allows it the server and its client run in
 * a private network namespace (chroma-check-child.ts), where no other
 * process, of this user or another, can reach it. Elsewhere they run as
 * they are, with the warning CHROMA_NOT_ISOLATED.
 */
export async function serverCheck(location: string, opts: ServerCheckOptions = {}): Promise<ServerCheck> {
  throwIfAborted(opts.signal);
  const network = await privateNetwork();
  if (!network.ok) {
    const fix = process.platform === 'linux' ? ' To prevent that, install util-linux and iproute2 and allow unprivileged user namespaces.' : '';
    opts.warn?.(
      'CHROMA_NOT_ISOLATED',
      `The Chroma server that checks the ChromaDB copy cannot run in a private network namespace: ${network.reason}. It listens on 127.0.0.1 without authentication, so while it runs (seconds), other local users could connect to it and read the copy.${fix}`,
    );
  }
  const node = childCommand(location, network.ok ? network.ip : undefined);
  const argv = network.ok ? [network.unshare, '--user', '--map-root-user', '--net', '--', ...node] : node;
  // Inside the namespace the user is root, so the runtime directory is named here, where its uid is the real one.
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, [RUNTIME_DIR_ENV]: runtimeDir() ?? '' },
  });
  // The pipe only tells the child we are alive; writing to it after the child died must not throw.
  child.stdin!.on('error', () => {});
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout = (stdout + d).slice(-STDOUT_TAIL)));
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-STDERR_TAIL)));

  const onAbort = () => {
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS).unref();
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });
  const ended = await new Promise<string>((resolve) => {
    child.once('error', (e) => resolve(e.message));
    child.once('close', (code, signal) => resolve(`code ${code ?? signal}`));
  });
  opts.signal?.removeEventListener('abort', onAbort);
  if (opts.signal?.aborted) throw cancelledError();

  // The answer is the last line; a library may have printed before it.
  const last = stdout.trim().split('\n').pop() ?? '';
  let answer: { result?: ServerCheck; error?: { code: string; message: string; details?: Record<string, unknown> } } = {};
  try {
    answer = JSON.parse(last);
  } catch {
    /* no answer: reported below */
  }
  if (answer.result) return answer.result;
  if (answer.error) {
    const { code, message, details } = answer.error;
    throw new AicoError(code as AicoError['code'], message, details ? { details } : {});
  }
  const said = stderr.trim().split('\n').slice(-5).join('\n  ');
  throw new AicoError('DATABASE_INVALID', `The Chroma server check ended without an answer (${ended}).${said ? ` Its output:\n  ${said}` : ''}`);
}
