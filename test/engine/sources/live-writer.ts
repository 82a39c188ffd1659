import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after } from 'node:test';
import { ROOT } from '../../helpers.js';

/** Starts a writer (or reader) from test/fixtures/writers and resolves once it prints `ready`. */
export async function startWriter(name: string, args: string[], ready = 'running'): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'test', 'fixtures', 'writers', name), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  after(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes(ready) && resolve());
    child.on('exit', (code) => reject(new Error(`writer ${name} exited (${code}): ${err}`)));
  });
  return child;
}
