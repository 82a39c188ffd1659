import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { decodeLocator, encodeLocator, LOCATOR_BYTES } from '../../../src/engine/archive/locator.js';
import { ArchiveReader } from '../../../src/engine/archive/reader.js';
import { getCodec, type Codec, type CodecName } from '../../../src/engine/codec/index.js';
import { create, isAicoError, verify } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

// Unencrypted archives have no MAC: every byte whose value the format fixes
// (tar padding and end blocks, header checksum fields, gzip member headers and
// trailers, the locator and its wrapper) must be checked by verify itself.

const dir = tempDir();
const CODECS: CodecName[] = ['zstd', 'lz4', 'gzip', 'none'];
const archives = new Map<CodecName, Buffer>();

before(async () => {
  const home = path.join(dir, 'home');
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'backup:\n  compression: zstd\n');
  // A non-ASCII name makes tar-stream write a PAX header, whose data has padding too.
  await fs.writeFile(path.join(home, 'config', 'persönlich.yaml'), 'name: x\n');
  for (const compression of CODECS) {
    const result = await create({
      home, outputDir: path.join(dir, `out-${compression}`), encrypt: false, compression, compressionLevel: 3,
      include: ['config'], exclude: [],
    });
    archives.set(compression, await fs.readFile(result.backup.path));
  }
});

interface FrameAt { offset: number; length: number; tar: Buffer }

const locatorFrame = (codec: Codec) => codec.wrapLocator(Buffer.alloc(LOCATOR_BYTES)).length;

/** The data frames of the compressed stream with the tar bytes each decodes to. */
async function framesOf(bytes: Buffer, codec: Codec): Promise<FrameAt[]> {
  const end = bytes.length - locatorFrame(codec);
  if (codec.name === 'none') return [{ offset: 0, length: end, tar: bytes.subarray(0, end) }];
  const frames: FrameAt[] = [];
  for (let pos = 0; pos < end; ) {
    const scan = codec.scanFrame(bytes.subarray(pos, end));
    assert.equal(scan.kind, 'data');
    const length = (scan as { length: number }).length;
    frames.push({ offset: pos, length, tar: await codec.decompressFrame(bytes.subarray(pos, pos + length), 4 << 20) });
    pos += length;
  }
  return frames;
}

const tarOf = async (bytes: Buffer, codec: Codec) => Buffer.concat((await framesOf(bytes, codec)).map((f) => f.tar));

/** The archive with tar byte `at` flipped: its frame is compressed again and the locator follows the new offsets. */
async function withTarByteFlipped(bytes: Buffer, codec: Codec, at: number): Promise<Buffer> {
  const frames = await framesOf(bytes, codec);
  const loc = decodeLocator(codec.unwrapLocator(bytes.subarray(bytes.length - locatorFrame(codec))))!;
  const out: Buffer[] = [];
  let tarPos = 0;
  let tailOffset = 0;
  let written = 0;
  for (const f of frames) {
    let frame = bytes.subarray(f.offset, f.offset + f.length);
    if (at >= tarPos && at < tarPos + f.tar.length) {
      const tar = Buffer.from(f.tar);
      tar[at - tarPos]! ^= 0x01;
      frame = await codec.compressFrame(tar, codec.codecLevel(3));
    }
    if (f.offset === loc.tailOffset) tailOffset = written;
    out.push(frame);
    written += frame.length;
    tarPos += f.tar.length;
  }
  if (codec.name === 'none') tailOffset = loc.tailOffset;
  return Buffer.concat([...out, codec.wrapLocator(encodeLocator({ ...loc, tailOffset }))]);
}

interface TarHeader { at: number; name: string; size: number; type: string }

function tarHeaders(tar: Buffer): TarHeader[] {
  const out: TarHeader[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const block = tar.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;
    const size = parseInt(block.toString('latin1', 124, 136), 8);
    out.push({ at, name: block.toString('latin1', 0, 100).replace(/\0.*$/s, ''), size, type: String.fromCharCode(block[156]!) });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 0x01;
  return copy;
}

async function verifyCode(bytes: Buffer, codec: Codec): Promise<string> {
  const file = path.join(dir, `case-${Math.random().toString(36).slice(2)}.tar${codec.extension}`);
  await fs.writeFile(file, bytes);
  try {
    const result = await verify({ path: file });
    return result.ok ? 'OK' : `problems: ${result.problems.map((p) => p.code).join(',')}`;
  } catch (error) {
    if (isAicoError(error)) return error.code;
    throw error;
  } finally {
    await fs.rm(file, { force: true });
  }
}

/** What reading the locator says (verify reads it first): cheaper than a whole verify per byte. */
async function locatorCode(bytes: Buffer, codec: Codec): Promise<string> {
  const file = path.join(dir, `loc-${Math.random().toString(36).slice(2)}.tar${codec.extension}`);
  await fs.writeFile(file, bytes);
  const reader = await ArchiveReader.open(file, null);
  try {
    await reader.locator();
    return 'OK';
  } catch (error) {
    if (isAicoError(error)) return error.code;
    throw error;
  } finally {
    await reader.close();
    await fs.rm(file, { force: true });
  }
}

for (const name of CODECS) {
  describe(`${name}: verify checks every byte the format fixes`, () => {
    const codec = getCodec(name);

    test('the untouched archive verifies', async () => {
      assert.equal(await verifyCode(archives.get(name)!, codec), 'OK');
    });

    test('a non-zero byte in the zero padding after an entry (and after PAX data) is CORRUPT_ARCHIVE', async () => {
      const bytes = archives.get(name)!;
      const headers = tarHeaders(await tarOf(bytes, codec));
      const meta = headers[0]!;
      assert.equal(meta.name, 'metadata.json');
      assert.ok(meta.size % 512 !== 0);
      const pax = headers.find((h) => h.type === 'x');
      assert.ok(pax, 'the archive holds a PAX header');
      for (const h of [meta, pax]) {
        const padStart = h.at + 512 + h.size;
        const padEnd = h.at + 512 + Math.ceil(h.size / 512) * 512;
        for (const at of [padStart, padEnd - 1]) {
          assert.equal(await verifyCode(await withTarByteFlipped(bytes, codec, at), codec), 'CORRUPT_ARCHIVE', `${h.name} padding byte ${at}`);
        }
      }
    });

    test('a non-zero byte in the end blocks is CORRUPT_ARCHIVE', async () => {
      const bytes = archives.get(name)!;
      const tar = await tarOf(bytes, codec);
      // Offsets 148..155 are the checksum field: a zero block with only those bytes set still reads as "empty" to tar-stream.
      for (const at of [tar.length - 1024 + 150, tar.length - 512 + 155, tar.length - 1]) {
        assert.equal(await verifyCode(await withTarByteFlipped(bytes, codec, at), codec), 'CORRUPT_ARCHIVE', `end block byte ${at}`);
      }
    });

    test('a changed byte in a header checksum field that the sum does not cover is CORRUPT_ARCHIVE', async () => {
      const bytes = archives.get(name)!;
      // tar-stream writes "dddddd \0" and reads only up to the space: byte 155 is checked by nobody else.
      assert.equal(await verifyCode(await withTarByteFlipped(bytes, codec, 155), codec), 'CORRUPT_ARCHIVE');
      assert.equal(await verifyCode(await withTarByteFlipped(bytes, codec, 154), codec), 'CORRUPT_ARCHIVE');
    });

    test('every byte of the locator frame is checked: a flipped one is CORRUPT_ARCHIVE', async () => {
      const bytes = archives.get(name)!;
      const w = locatorFrame(codec);
      const accepted: string[] = [];
      for (let i = 0; i < w; i++) {
        const code = await locatorCode(flip(bytes, bytes.length - w + i), codec);
        if (code !== 'CORRUPT_ARCHIVE') accepted.push(`${i}:${code}`);
      }
      assert.deepEqual(accepted, []);
      assert.equal(await verifyCode(flip(bytes, bytes.length - 1), codec), 'CORRUPT_ARCHIVE');
    });

    test('a cut archive is TRUNCATED_ARCHIVE, an archive with bytes appended is TRAILING_DATA', async () => {
      const bytes = archives.get(name)!;
      const w = locatorFrame(codec);
      for (const cut of [1, 9, w - 1, w, w + 1, 300]) {
        assert.equal(await locatorCode(bytes.subarray(0, bytes.length - cut), codec), 'TRUNCATED_ARCHIVE', `cut ${cut}`);
      }
      for (const extra of [Buffer.from('x'), Buffer.alloc(512), bytes.subarray(0, 100)]) {
        assert.equal(await locatorCode(Buffer.concat([bytes, extra]), codec), 'TRAILING_DATA', `${extra.length} bytes appended`);
      }
    });
  });
}

describe('gzip: every member header and trailer byte is checked', () => {
  const codec = getCodec('gzip');

  test('FLG, MTIME, XFL and OS of a data member are fixed: a change is CORRUPT_ARCHIVE', async () => {
    const bytes = archives.get('gzip')!;
    for (const at of [3, 4, 7, 8, 9]) assert.equal(await verifyCode(flip(bytes, at), codec), 'CORRUPT_ARCHIVE', `header byte ${at}`);
  });

  test('the CRC-32 and ISIZE of each data member are checked', async () => {
    const bytes = archives.get('gzip')!;
    const frames = await framesOf(bytes, codec);
    assert.ok(frames.length >= 2);
    for (const f of frames) {
      const end = f.offset + f.length;
      for (const at of [end - 8, end - 5, end - 4, end - 1]) {
        assert.equal(await verifyCode(flip(bytes, at), codec), 'CORRUPT_ARCHIVE', `trailer byte ${at - f.offset} of the member at ${f.offset}`);
      }
    }
  });

});

describe('a skippable frame anywhere but at the end holds bytes no check covers', () => {
  for (const name of ['zstd', 'gzip'] as const) {
    test(`${name}: one inserted between two frames is CORRUPT_ARCHIVE`, async () => {
      const codec = getCodec(name);
      const bytes = archives.get(name)!;
      const [first] = await framesOf(bytes, codec);
      const loc = decodeLocator(codec.unwrapLocator(bytes.subarray(bytes.length - locatorFrame(codec))))!;
      const inserted = codec.wrapLocator(Buffer.alloc(LOCATOR_BYTES, 0x55));
      const cut = first!.offset + first!.length;
      const edited = Buffer.concat([
        bytes.subarray(0, cut), inserted, bytes.subarray(cut, bytes.length - locatorFrame(codec)),
        codec.wrapLocator(encodeLocator({ ...loc, tailOffset: loc.tailOffset + (loc.tailOffset >= cut ? inserted.length : 0) })),
      ]);
      assert.equal(await verifyCode(edited, codec), 'CORRUPT_ARCHIVE');
    });
  }
});
