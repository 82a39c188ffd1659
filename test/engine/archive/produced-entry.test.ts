import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeArchive, type ArchiveEntry, type ProducedEntry } from '../../../src/engine/archive/writer.js';
import { getCodec } from '../../../src/engine/codec/index.js';
import { verify, type Metadata } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();
const created = new Date('2026-01-02T12:00:00.000Z');
const metadata = (codec: string) =>
  ({
    backup_version: 1, tool: { name: 'aico-backup', version: '0.1.0' }, id: `produced-${codec}`, created: created.toISOString(),
    backup_type: 'full', parent_id: null, encryption: { enabled: false },
    compression: { algorithm: codec, level: codec === 'none' ? null : 3, codec_level: codec === 'none' ? null : 3, chunk_size: 1 << 20 },
    databases: {},
  }) as unknown as Metadata;

/** Deterministic bytes that do not compress to nothing. */
function pattern(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A producer that hands its bytes out in uneven pieces, as a delta computed while reading would. */
function producer(archivePath: string, data: Buffer, pieces: number[], over: Partial<ProducedEntry> = {}): ProducedEntry {
  return {
    source: 'libsql', archivePath, mode: 0o640, mtime: created, progressBytes: 10 * data.length,
    async *produce() {
      let at = 0;
      for (let i = 0; at < data.length; i++) {
        const n = pieces[i % pieces.length]!;
        yield data.subarray(at, at + n);
        at += n;
        await new Promise((r) => setImmediate(r));
      }
    },
    ...over,
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('writer: produced entries (size known only after producing)', () => {
  for (const [codec, tool] of [['zstd', 'zstd -dc'], ['none', 'cat']] as const) {
    test(`${codec}: a plain file, a produced entry and an empty produced entry extract with ${tool} | tar -x`, async () => {
      const work = path.join(dir, codec);
      const spoolDir = path.join(work, 'spool');
      await fs.mkdir(spoolDir, { recursive: true });
      const plain = pattern(5000, 1);
      await fs.writeFile(path.join(work, 'plain.db'), plain);
      const produced = pattern(3 * (1 << 20) + 1234, 2);
      const entries: ArchiveEntry[] = [
        { source: 'libsql', absPath: path.join(work, 'plain.db'), archivePath: 'databases/plain.db', size: plain.length, mode: 0o600, mtime: created },
        producer('databases/delta.bin', produced, [1 << 20, 4096, 777, 300_000]),
        producer('databases/empty.bin', Buffer.alloc(0), [1]),
      ];
      const progress: number[] = [];
      const file = path.join(work, `a.tar${codec === 'zstd' ? '.zst' : ''}`);
      const result = await writeArchive({
        path: file, codec: getCodec(codec), codecLevel: codec === 'none' ? null : 3, encryption: null, metadata: metadata(codec),
        files: entries, spoolDir, onProgress: (done) => progress.push(done),
      });
      assert.equal(result.files, 3);

      const into = path.join(work, 'x');
      await fs.mkdir(into);
      execFileSync('bash', ['-o', 'pipefail', '-c', `${tool} "$0" | tar -xf - -C "$1"`, file, into], { stdio: 'pipe' });
      assert.equal(sha(await fs.readFile(path.join(into, 'databases/plain.db'))), sha(plain));
      assert.equal(sha(await fs.readFile(path.join(into, 'databases/delta.bin'))), sha(produced));
      assert.equal((await fs.readFile(path.join(into, 'databases/empty.bin'))).length, 0);
      assert.equal((await fs.stat(path.join(into, 'databases/delta.bin'))).mode & 0o777, 0o640);

      const manifest = JSON.parse(await fs.readFile(path.join(into, 'manifest.json'), 'utf8'));
      const delta = manifest.files.find((f: { path: string }) => f.path === 'databases/delta.bin');
      assert.deepEqual([delta.size, delta.sha256, delta.blocks_count], [produced.length, sha(produced), Math.ceil(produced.length / 4096)]);
      const v = await verify({ path: file });
      assert.deepEqual([v.ok, v.problems], [true, []]);
      assert.deepEqual(await fs.readdir(spoolDir), [], 'spool files are removed');
      // A produced entry counts for its progressBytes once it is done, not for the bytes it produced.
      assert.equal(progress.at(-1), plain.length + 10 * produced.length);
    });
  }

  test('a producer that fails leaves no archive and no spool file', async () => {
    const work = path.join(dir, 'fail');
    const spoolDir = path.join(work, 'spool');
    await fs.mkdir(spoolDir, { recursive: true });
    const failing: ProducedEntry = {
      ...producer('databases/x.bin', Buffer.alloc(0), [1]),
      async *produce() {
        yield pattern(2 << 20, 3);
        throw new Error('parent archive unreadable');
      },
    };
    const file = path.join(work, 'b.tar');
    await assert.rejects(
      writeArchive({ path: file, codec: getCodec('none'), codecLevel: null, encryption: null, metadata: metadata('none'), files: [failing], spoolDir }),
      /parent archive unreadable/,
    );
    assert.deepEqual(await fs.readdir(spoolDir), []);
    assert.deepEqual((await fs.readdir(work)).filter((n) => n !== 'spool'), []);
  });

  test('produced entries without a spool directory are refused before anything is written', async () => {
    const work = path.join(dir, 'nospool');
    await fs.mkdir(work, { recursive: true });
    await assert.rejects(
      writeArchive({
        path: path.join(work, 'c.tar'), codec: getCodec('none'), codecLevel: null, encryption: null, metadata: metadata('none'),
        files: [producer('databases/y.bin', Buffer.from('y'), [1])],
      }),
      { code: 'INTERNAL' },
    );
    assert.deepEqual(await fs.readdir(work), []);
  });
});
