import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { writeArchive } from '../../../src/engine/archive/writer.js';
import { decodeLocator, encodeLocator, LOCATOR_BYTES } from '../../../src/engine/archive/locator.js';
import { getCodec } from '../../../src/engine/codec/index.js';
import { verify, type Metadata } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();
let original: Buffer;

/** A plain, uncompressed archive with two data files (2 + 1 block hashes), so tar bytes can be edited in place. */
before(async () => {
  const files = [
    { name: 'a.db', data: Buffer.alloc(5000, 'a') },
    { name: 'b.db', data: Buffer.alloc(100, 'b') },
  ];
  for (const f of files) await fs.writeFile(path.join(dir, f.name), f.data);
  const created = new Date('2026-01-02T12:00:00.000Z');
  const metadata = {
    backup_version: 1, id: 'blocks-test', created: created.toISOString(), backup_type: 'full', parent_id: null,
    encryption: { enabled: false }, compression: { algorithm: 'none', level: null, codec_level: null, chunk_size: 1 << 20 },
    databases: {},
  } as unknown as Metadata;
  const file = path.join(dir, 'blocks.tar');
  await writeArchive({
    path: file, codec: getCodec('none'), codecLevel: null, encryption: null, metadata,
    files: files.map((f) => ({ source: 'libsql', absPath: path.join(dir, f.name), archivePath: `databases/${f.name}`, size: f.data.length, mode: 0o600, mtime: created })),
  });
  original = await fs.readFile(file);
});

/** Byte offset of the 512-byte tar header of `name`. */
function headerAt(tar: Buffer, name: string): number {
  const needle = Buffer.from(`${name}\0`);
  for (let at = 0; at + 512 <= tar.length; at += 512) if (tar.subarray(at, at + needle.length).equals(needle)) return at;
  throw new Error(`no tar header for ${name}`);
}

function setSize(tar: Buffer, header: number, size: number): void {
  tar.write(`${size.toString(8).padStart(11, '0')}\0`, header + 124, 'latin1');
  tar.fill(' ', header + 148, header + 156);
  let sum = 0;
  for (let i = header; i < header + 512; i++) sum += tar[i]!;
  tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, header + 148, 'latin1');
}

async function verifyBytes(bytes: Buffer) {
  const file = path.join(dir, `case-${Math.random().toString(36).slice(2)}.tar`);
  await fs.writeFile(file, bytes);
  return verify({ path: file });
}

describe('verify checks manifest.blocks against the manifest exactly', () => {
  test('the untouched archive verifies', async () => {
    const r = await verifyBytes(original);
    assert.deepEqual([r.ok, r.problems], [true, []]);
  });

  test('block hashes beyond what the manifest accounts for are a problem', async () => {
    const copy = Buffer.from(original);
    const header = headerAt(copy, 'manifest.blocks');
    const size = parseInt(copy.toString('latin1', header + 124, header + 135), 8);
    assert.equal(size, 3 * 32);
    // One more 32-byte "hash" inside the entry's zero padding: the tar and locator stay valid.
    copy.fill(0xab, header + 512 + size, header + 512 + size + 32);
    setSize(copy, header, size + 32);
    const r = await verifyBytes(copy);
    assert.equal(r.ok, false);
    assert.deepEqual(r.problems.map((p) => p.code), ['BLOCK_HASH_MISMATCH']);
    assert.match(r.problems[0]!.message, /manifest\.blocks .*32 bytes/);
  });

  test('a blocks_offset that does not follow the previous run is a problem', async () => {
    // "blocks_offset":2 -> 3 for b.db: the hashes stay where they are, the manifest points past them.
    const copy = Buffer.from(original);
    const text = copy.toString('latin1');
    const at = text.indexOf('"blocks_offset":2');
    assert.ok(at > 0 && text.indexOf('"blocks_offset":2', at + 1) === -1);
    copy.write('"blocks_offset":3', at, 'latin1');
    const r = await verifyBytes(copy);
    assert.equal(r.ok, false);
    assert.ok(r.problems.some((p) => p.code === 'BLOCK_HASH_MISMATCH' && p.path === 'databases/b.db'), JSON.stringify(r.problems));
  });

  test('an archive without manifest.blocks is a layout problem', async () => {
    // Cut the entry out (header + one padded block) and fix the locator, so only the entry is missing.
    const header = headerAt(original, 'manifest.blocks');
    const loc = decodeLocator(original.subarray(original.length - LOCATOR_BYTES))!;
    const body = Buffer.concat([original.subarray(0, header), original.subarray(header + 1024, original.length - LOCATOR_BYTES)]);
    const r = await verifyBytes(Buffer.concat([body, encodeLocator({ ...loc, tarLength: loc.tarLength - 1024 })]));
    assert.equal(r.ok, false);
    assert.deepEqual(r.problems.map((p) => p.code), ['LAYOUT']);
    assert.match(r.problems[0]!.message, /no manifest\.blocks/);
  });
});
