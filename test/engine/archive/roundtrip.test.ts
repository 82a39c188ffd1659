import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { create, verify, seedFiles, CODEC_NAMES } from '../../../src/engine/index.js';
import { ArchiveReader } from '../../../src/engine/archive/reader.js';
import { parseTar } from '../../../src/engine/archive/tar-in.js';
import { readManifest, readMetadata } from '../../../src/engine/archive/inspect.js';
import { expectedArchiveTree, tempDir, treeHashes } from '../../helpers.js';
import { createHash } from 'node:crypto';

const password = () => Promise.resolve(Buffer.from('correct horse battery staple'));

/** Reads every entry of an archive through the engine's reader: name -> sha256. */
async function readAll(file: string, pw: typeof password | null): Promise<Record<string, string>> {
  const reader = await ArchiveReader.open(file, pw);
  const out: Record<string, string> = {};
  try {
    await parseTar(reader.tar(0, reader.payloadLength - reader.locatorFrameLength), async (entry) => {
      const h = createHash('sha256');
      for await (const chunk of entry.stream) h.update(chunk);
      out[entry.header.name] = h.digest('hex');
    });
  } finally {
    await reader.close();
  }
  return out;
}

describe('round trip: every compression x encryption', async () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  await seedFiles({ home, sizeMb: 6, seed: 7 });
  // A file that is not a multiple of the block size, and an empty one.
  await fs.writeFile(path.join(home, 'config', 'odd.bin'), Buffer.alloc(4096 * 3 + 17, 9));
  await fs.writeFile(path.join(home, 'config', 'empty.txt'), '');
  const expected = expectedArchiveTree(await treeHashes(home));

  for (const compression of CODEC_NAMES) {
    for (const encrypt of [true, false]) {
      test(`${compression}, ${encrypt ? 'encrypted' : 'plain'}: byte-exact and verifiable`, async () => {
        const out = path.join(dir, `out-${compression}-${encrypt}`);
        const result = await create({
          home,
          outputDir: out,
          encrypt,
          password: encrypt ? password : undefined,
          compression,
          compressionLevel: 3,
          include: ['models', 'cache', 'config'],
          exclude: [],
          kdfIterations: 1000,
        });
        assert.match(path.basename(result.backup.path), new RegExp(`^aico-backup-\\d{8}-\\d{6}\\.tar${{ zstd: '\\.zst', gzip: '\\.gz', lz4: '\\.lz4', none: '' }[compression]}${encrypt ? '\\.enc' : ''}$`));
        assert.equal((await fs.stat(result.backup.path)).mode & 0o777, 0o600);
        assert.equal((await fs.stat(out)).mode & 0o777, 0o700);
        assert.deepEqual((await fs.readdir(out)).filter((n) => n.includes('partial')), []);

        const entries = await readAll(result.backup.path, encrypt ? password : null);
        for (const [name, hash] of Object.entries(expected)) assert.equal(entries[name], hash, name);
        assert.deepEqual(
          Object.keys(entries).filter((n) => !(n in expected)).sort(),
          ['manifest.blocks', 'manifest.json', 'metadata.json'],
        );

        const reader = await ArchiveReader.open(result.backup.path, encrypt ? password : null);
        try {
          const { metadata } = await readMetadata(reader);
          const { manifest } = await readManifest(reader);
          assert.equal(metadata.id, result.backup.id);
          assert.equal(metadata.compression.algorithm, compression);
          assert.equal(manifest.files.length, Object.keys(expected).length);
          const odd = manifest.files.find((f) => f.path === 'config/odd.bin')!;
          assert.equal(odd.blocks_count, 4);
        } finally {
          await reader.close();
        }
        const v = await verify({ path: result.backup.path, password: encrypt ? password : undefined });
        assert.deepEqual(v.problems, []);
        assert.equal(v.ok, true);
      });
    }
  }
});
