import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { seedFiles } from '../../src/engine/index.js';
import { BIN, runCli, tempDir } from '../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');

before(async () => {
  // Large and slow enough (gzip level 9) that the create is still running when signalled.
  await seedFiles({ home, sizeMb: 160, seed: 9 });
});

async function waitForPartial(out: string, child: ReturnType<typeof spawn>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const names = await fs.readdir(out).catch(() => [] as string[]);
    if (names.some((n) => n.endsWith('.partial') && !n.includes('blocks'))) return;
    if (child.exitCode !== null) throw new Error('create finished before it could be interrupted');
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no partial file appeared');
}

function startCreate(out: string) {
  return spawn(process.execPath, [BIN, '--home', home, 'backup', 'create', '-o', out, '--compression', 'gzip', '--compression-level', '9', '--include', 'models,cache,config'], {
    env: { ...process.env, AICO_BACKUP_PASSWORD: 'interrupt-pw' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const finals = async (out: string) => (await fs.readdir(out)).filter((n) => /\.tar(\.\w+)*$/.test(n) && !n.includes('partial'));

describe('interrupted create', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal}: exits ${signal === 'SIGINT' ? 130 : 143}, no final file, partial removed`, async () => {
      const out = path.join(dir, `out-${signal}`);
      const child = startCreate(out);
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      await waitForPartial(out, child);
      child.kill(signal);
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(code, signal === 'SIGINT' ? 130 : 143, stderr);
      assert.match(stderr, /Cancelled; nothing was written under a final name/);
      assert.deepEqual(await fs.readdir(out), []);
    });
  }

  test('SIGKILL: no final-named file; a rerun cleans the dead partial and succeeds', async () => {
    const out = path.join(dir, 'out-kill');
    const child = startCreate(out);
    await waitForPartial(out, child);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    assert.deepEqual(await finals(out), []);
    assert.ok((await fs.readdir(out)).some((n) => n.endsWith('.partial')));
    const rerun = await runCli(['--home', home, 'backup', 'create', '-o', out, '--compression', 'lz4', '--json', '--include', 'config,models'], {
      env: { AICO_BACKUP_PASSWORD: 'interrupt-pw' },
    });
    assert.equal(rerun.code, 0, rerun.stdout);
    const names = await fs.readdir(out);
    assert.deepEqual(names.filter((n) => n.includes('partial')), [], 'the dead run’s partial files are gone');
    assert.equal((await finals(out)).length, 1);
    assert.equal(rerun.json.warnings.find((w: { code: string }) => w.code === 'STALE_LOCK')?.code, 'STALE_LOCK');
  });
});
