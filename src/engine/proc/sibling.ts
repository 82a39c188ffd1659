import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

/**
 * Workers and child processes whose code sits next to the module that
 * starts them: `.js` once built, `.ts` when the tests run the sources
 * through tsx. Module hooks (tsx) are not inherited by workers on Node 20,
 * so a worker from source registers them itself first.
 */
function sibling(fromUrl: string, name: string): { url: URL; fromSource: boolean } {
  const fromSource = fromUrl.endsWith('.ts');
  return { url: new URL(`./${name}${fromSource ? '.ts' : '.js'}`, fromUrl), fromSource };
}

export function spawnSiblingWorker(fromUrl: string, name: string, resourceLimits?: ResourceLimits): Worker {
  const { url, fromSource } = sibling(fromUrl, name);
  return fromSource
    ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
    : new Worker(url, resourceLimits ? { resourceLimits } : {});
}

export type ChildReply = { reply: Record<string, unknown> } | { timeout: true } | { crashed: string } | { cancelled: true };

/**
 * Runs a sibling script as a child process: the request goes in on stdin, one
 * JSON reply comes back on stdout (secrets never travel in argv). A child that
 * dies without a reply (a signal, a native crash) or outlives `timeoutMs` is
 * reported as such, never as a hang.
 */
export function runSiblingChild(
  fromUrl: string,
  name: string,
  request: unknown,
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ChildReply> {
  const { url, fromSource } = sibling(fromUrl, name);
  const script = fileURLToPath(url);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, fromSource ? ['--import', 'tsx', script] : [script], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    let settled = false;
    const done = (value: ChildReply) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', cancel);
      resolve(value);
    };
    // A cancelled operation must not leave a child reading a database behind it.
    const cancel = () => {
      child.kill('SIGKILL');
      done({ cancelled: true });
    };
    if (opts.signal?.aborted) queueMicrotask(cancel);
    else opts.signal?.addEventListener('abort', cancel, { once: true });
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGKILL');
          done({ timeout: true });
        }, opts.timeoutMs)
      : null;
    child.stdout.on('data', (d) => (out += d));
    child.on('error', (error) => done({ crashed: error.message }));
    child.on('close', (code, signal) => {
      try {
        done({ reply: JSON.parse(out) as Record<string, unknown> });
      } catch {
        done({ crashed: signal ?? `exit code ${code}` });
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}
