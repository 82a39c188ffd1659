import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { create, seedFiles } from '../../../src/engine/index.js';
import { expectedArchiveTree, tempDir, treeHashes } from '../../helpers.js';

const TOOLS: Record<string, string> = { zstd: 'zstd -dc', gzip: 'gzip -dc', lz4: 'lz4 -dc', none: 'cat' };

describe('unencrypted archives extract with the system tools', async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  await seedFiles({ home, sizeMb: 4, seed: 11 });
  const expected = expectedArchiveTree(await treeHashes(home));

  for (const [compression, tool] of Object.entries(TOOLS)) {
    test(`${tool} F | tar -x`, async () => {
      const result = await create({
        home, outputDir: path.join(dir, `out-${compression}`), encrypt: false, compression: compression as never,
        compressionLevel: 5, include: ['models', 'cache', 'config'], exclude: [],
      });
      const into = path.join(dir, `x-${compression}`);
      await fs.mkdir(into);
      execFileSync('bash', ['-o', 'pipefail', '-c', `${tool} "$0" | tar -xf - -C "$1"`, result.backup.path, into], { stdio: 'pipe' });
      const got = await treeHashes(into);
      for (const [name, hash] of Object.entries(expected)) assert.equal(got[name], hash, name);
      assert.ok(got['metadata.json'] && got['manifest.json'] && got['manifest.blocks'] !== undefined);
      if (compression !== 'none') execFileSync(tool.split(' ')[0]!, ['-t', result.backup.path], { stdio: 'pipe' });
    });
  }
});
