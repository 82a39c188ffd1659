import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { create, seedFiles } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

test('cancelling in the middle of a large file (as Esc in the TUI does) rejects with CANCELLED and leaves nothing behind', async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  await seedFiles({ home, sizeMb: 48, seed: 2 });
  const controller = new AbortController();
  let progressEvents = 0;
  await assert.rejects(
    create(
      {
        home,
        outputDir: out,
        encrypt: true,
        password: async () => Buffer.from('pw'),
        compression: 'zstd',
        compressionLevel: 3,
        include: ['models', 'cache', 'config'],
        exclude: [],
        kdfIterations: 1000,
      },
      {
        signal: controller.signal,
        // Abort once data is streaming, i.e. inside a tar entry, not between files.
        onEvent: (e) => e.type === 'progress' && e.bytesDone > 4 << 20 && ++progressEvents === 1 && controller.abort(),
      },
    ),
    (e: any) => e.code === 'CANCELLED',
  );
  assert.equal(progressEvents, 1, 'the abort happened while data streamed');
  assert.deepEqual(await fs.readdir(out), [], 'no archive, partial file, staging directory or lock left');
});
