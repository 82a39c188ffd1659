// The block index (manifest.blocks) of a backup, as an incremental backup
// reads its parent's: the hashes must be exactly the SHA-256 of each 4 KiB
// block of each file, computed here from the files on disk, for every codec,
// encrypted or not; and reading them must not read the payload, which is
// shown by counting the bytes read through a wrapped file handle.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { readBlockIndex, readBlockIndexOf } from '../../../src/engine/archive/block-index.js';
import { ArchiveReader, type ArchiveFile } from '../../../src/engine/archive/reader.js';
import { walkArchive } from '../../../src/engine/archive/walk.js';
import { CODEC_NAMES, create, isAicoError } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir('aico-block-index-');
const password = async () => Buffer.from('block index password');

/** The SHA-256 of each consecutive 4096-byte block, back to back, as FORMAT.md §7 defines manifest.blocks. */
function blockHashes(data: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += 4096) out.push(createHash('sha256').update(data.subarray(at, at + 4096)).digest());
  return Buffer.concat(out);
}

/** Archive path -> expected block hashes, for every file of a home backed up with models and config. */
async function expectedIndex(home: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const [from, to] of [['models', 'extras/models'], ['config', 'config']] as const) {
    for (const name of await fs.readdir(path.join(home, from))) out.set(`${to}/${name}`, blockHashes(await fs.readFile(path.join(home, from, name))));
  }
  return out;
}

async function backup(home: string, out: string, compression: (typeof CODEC_NAMES)[number], encrypt: boolean): Promise<string> {
  const made = await create({
    home, outputDir: out, encrypt, password: encrypt ? password : undefined, compression, compressionLevel: 1,
    include: ['models', 'config'], exclude: [], kdfIterations: 1000,
  });
  return made.backup.path;
}

/** A file handle that counts the bytes read through it. */
function counting(counter: { bytes: number }) {
  return async (file: string): Promise<ArchiveFile> => {
    const handle = await fs.open(file, 'r');
    return {
      read: async (buffer, offset, length, position) => {
        const r = await handle.read(buffer, offset, length, position);
        counter.bytes += r.bytesRead;
        return r;
      },
      stat: () => handle.stat(),
      close: () => handle.close(),
    };
  };
}

describe('the block index of every codec, encrypted and not', () => {
  const home = path.join(dir, 'home');
  let expected: Map<string, Buffer>;
  before(async () => {
    await fs.mkdir(path.join(home, 'models'), { recursive: true });
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    // Edge sizes around the 4 KiB block, and files long enough to span frames' worth of blocks.
    const files: Record<string, Buffer> = {
      'config/empty.txt': Buffer.alloc(0),
      'config/one.txt': Buffer.from('x'),
      'config/block.bin': randomBytes(4096),
      'config/block-and-one.bin': randomBytes(4097),
      'config/core.yaml': Buffer.from('backup:\n  compression: zstd\n'),
      'models/weights.bin': randomBytes(3 * 1024 * 1024 + 123),
      'models/repeated.bin': Buffer.alloc(600 * 1024, 'ab'),
    };
    for (const [name, data] of Object.entries(files)) await fs.writeFile(path.join(home, name), data);
    expected = await expectedIndex(home);
  });

  for (const compression of CODEC_NAMES) {
    for (const encrypt of [true, false]) {
      test(`${compression}, ${encrypt ? 'encrypted' : 'plain'}: exactly the hashes of each file's 4 KiB blocks`, async () => {
        const file = await backup(home, path.join(dir, `out-${compression}-${encrypt}`), compression, encrypt);
        const index = await readBlockIndexOf(file, encrypt ? password : null);
        assert.deepEqual([...index.files.keys()].sort(), [...expected.keys()].sort());
        for (const [name, hashes] of expected) {
          const got = index.files.get(name)!;
          assert.ok(got.hashes.equals(hashes), `${name}: ${got.hashes.length / 32} hashes, expected ${hashes.length / 32}`);
          assert.equal(got.file.block_size, 4096);
        }
        assert.equal(index.files.get('config/empty.txt')!.hashes.length, 0);
        assert.equal(index.files.get('config/block-and-one.bin')!.hashes.length, 2 * 32);
      });
    }
  }

  test('a run that does not follow the previous one is CORRUPT_ARCHIVE', async () => {
    const file = await backup(home, path.join(dir, 'out-damaged'), 'none', false);
    const bytes = await fs.readFile(file);
    // The manifest points the last run one hash further; same length, so the tar stays well-formed.
    const text = bytes.toString('latin1');
    const last = [...text.matchAll(/"blocks_offset":(\d+)/g)].at(-1)!;
    const bumped = String(Number(last[1]) + 1);
    assert.equal(bumped.length, last[1]!.length, 'the edit keeps the manifest the same length');
    bytes.write(bumped, last.index! + '"blocks_offset":'.length, 'latin1');
    const damaged = path.join(dir, 'damaged.tar');
    await fs.writeFile(damaged, bytes);
    await assert.rejects(readBlockIndexOf(damaged, null), (e) => isAicoError(e, 'CORRUPT_ARCHIVE') && /runs before it end at/.test(e.message));
  });
});

describe('reading the block index reads the tail, not the payload', () => {
  const home = path.join(dir, 'large-home');
  before(async () => {
    await fs.mkdir(path.join(home, 'models'), { recursive: true });
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    // Incompressible, so the archive is as large as its content.
    await fs.writeFile(path.join(home, 'models', 'large.bin'), randomBytes(64 << 20));
    await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'backup: {}\n');
  });

  for (const [compression, encrypt] of [['zstd', true], ['gzip', false]] as const) {
    test(`${compression}, ${encrypt ? 'encrypted' : 'plain'}, 64 MiB: under a tenth of the file is read, and the hashes are right`, async (t) => {
      const file = await backup(home, path.join(dir, `large-${compression}`), compression, encrypt);
      const size = (await fs.stat(file)).size;
      const pw = encrypt ? password : null;

      const indexRead = { bytes: 0 };
      const reader = await ArchiveReader.open(file, pw, undefined, counting(indexRead));
      let index;
      try {
        index = await readBlockIndex(reader);
      } finally {
        await reader.close();
      }
      const expected = await expectedIndex(home);
      assert.ok(index.files.get('extras/models/large.bin')!.hashes.equals(expected.get('extras/models/large.bin')!));

      // The counter sees what the reader reads: a full walk through it reads the whole file.
      const walkRead = { bytes: 0 };
      const walker = await ArchiveReader.open(file, pw, undefined, counting(walkRead));
      try {
        assert.deepEqual((await walkArchive(walker)).problems, []);
      } finally {
        await walker.close();
      }
      t.diagnostic(`archive ${size} bytes; block index read ${indexRead.bytes} bytes (${((100 * indexRead.bytes) / size).toFixed(1)}%); full walk ${walkRead.bytes}`);
      assert.ok(walkRead.bytes >= size, `a full walk reads every byte (${walkRead.bytes} of ${size})`);
      assert.ok(indexRead.bytes < size / 10, `the block index read ${indexRead.bytes} of ${size} bytes`);
    });
  }
});
