import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { recordServer } from '../../../src/engine/sources/chroma-leftovers.js';
import { spawnChromaProcess, startChroma } from '../../../src/engine/sources/chroma-server.js';
import { tempDir, ROOT } from '../../helpers.js';
import { alive, accepts } from './probes.js';

// Records go to a directory of this test's own, not the user's.
process.env.XDG_RUNTIME_DIR = tempDir('aico-runtime-');
const RECORDS = path.join(process.env.XDG_RUNTIME_DIR, 'aico-backup');

const SERVER_MODULE = pathToFileURL(path.join(ROOT, 'src/engine/sources/chroma-server.ts')).href;

/** Whether a liveness condition holds within `ms` (polled; a bound on waiting, not a timing assertion). */
async function within(ms: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A process that starts a validation server the way create and restore do, and prints its pid and port. */
function owner(dir: string, extra = '') {
  const code = `const { startChroma } = await import(${JSON.stringify(SERVER_MODULE)});
    const s = await startChroma(${JSON.stringify(dir)});
    ${extra}
    process.stdout.write(JSON.stringify({ pid: s.pid, port: s.port }) + '\\n');
    setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const server = new Promise<{ pid: number; port: number }>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out));
    });
    child.once('exit', (code) => reject(new Error(`the owner exited (${code}) before its server was up`)));
  });
  return { child, server };
}

describe('the validation server does not outlive its owner', () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    test(`${signal} to the process that started it: the server exits and its port closes`, async () => {
      const { child, server } = owner(tempDir());
      const { pid, port } = await server;
      assert.ok(alive(pid) && (await accepts(port)), 'the server was up');
      child.kill(signal);
      try {
        assert.ok(await within(10_000, () => !alive(pid)), `the Chroma server (pid ${pid}) outlived its ${signal}ed owner`);
        assert.equal(await accepts(port), false, 'nothing listens on the port any more');
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A process that is certainly gone, as the owner of a leftover. */
async function deadOwner() {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return { pid: child.pid!, start: '1' };
}

/** A server whose watchdog cannot fire (this test holds its pipe), as one that escaped it would be. */
async function strayServer() {
  const dir = path.join(tempDir(), '.chroma-validate-x');
  await fs.mkdir(dir, { mode: 0o700 });
  const port = await freePort();
  const child = spawnChromaProcess(dir, port);
  assert.ok(await within(30_000, () => accepts(port)), 'the stray server came up');
  return { child, dir, port };
}

describe('leftover servers', () => {
  test('the next server start stops a recorded server whose owner is gone, and removes its copy', async () => {
    const stray = await strayServer();
    try {
      recordServer(stray.child.pid!, stray.dir, await deadOwner());
      const next = await startChroma(tempDir());
      await next.stop();
      assert.ok(await within(10_000, () => !alive(stray.child.pid!)), 'the leftover server was stopped');
      assert.equal(await accepts(stray.port), false);
      assert.equal(await fs.stat(stray.dir).then(() => true, () => false), false, 'its throwaway copy is gone');
      assert.deepEqual(await fs.readdir(RECORDS), [], 'no records left');
    } finally {
      stray.child.kill('SIGKILL');
    }
  });

  test('a server whose owner still runs is left alone, and so is a reused pid that is not a Chroma server', async () => {
    const stray = await strayServer();
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const forget = recordServer(stray.child.pid!, stray.dir);
      recordServer(other.pid!, stray.dir, await deadOwner());
      const next = await startChroma(tempDir());
      await next.stop();
      assert.equal(alive(stray.child.pid!), true, 'a live run keeps its server');
      assert.equal(await accepts(stray.port), true);
      assert.equal(alive(other.pid!), true, 'a process that is not our server is never killed');
      forget();
    } finally {
      stray.child.kill('SIGKILL');
      other.kill('SIGKILL');
    }
  });
});
