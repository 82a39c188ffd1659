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

/** Asks the writer how many commits it made and the longest it waited for one since it was last asked. */
export async function writerReport(writer: ChildProcess): Promise<{ commits: number; longest_ms: number }> {
  const line = new Promise<string>((resolve) => {
    const on = (d: Buffer) => {
      const text = String(d).split('\n').find((l) => l.startsWith('{'));
      if (text) {
        writer.stdout!.off('data', on);
        resolve(text);
      }
    };
    writer.stdout!.on('data', on);
  });
  writer.kill('SIGUSR2');
  return JSON.parse(await line);
}
