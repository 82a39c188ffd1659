import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { create, isAicoError, list, seedFiles, verify, type ErrorCode } from '../../../src/engine/index.js';
import { parseHeader, headerSizeFromPrefix } from '../../../src/engine/crypto/header.js';
import { TAG_BYTES } from '../../../src/engine/crypto/segments.js';
import { tempDir } from '../../helpers.js';

const PASSWORD = 'tamper-test-password';
const password = () => Promise.resolve(Buffer.from(PASSWORD));

const dir = tempDir();
let original: Buffer;
let headerLen = 0;
let segment = 0;
let segments = 0;

async function codeOf(bytes: Buffer, pw = password): Promise<ErrorCode | 'OK'> {
  const file = path.join(dir, `case-${Math.random().toString(36).slice(2)}.tar.zst.enc`);
  await fs.writeFile(file, bytes);
  try {
    const result = await verify({ path: file, password: pw });
    return result.ok ? 'OK' : 'CHECKSUM_MISMATCH';
  } catch (error) {
    if (isAicoError(error)) return error.code;
    throw error;
  } finally {
    await fs.rm(file, { force: true });
  }
}

const flip = (buf: Buffer, at: number) => {
  const copy = Buffer.from(buf);
  copy[at]! ^= 0x01;
  return copy;
};

before(async () => {
  const home = path.join(dir, 'home');
  await seedFiles({ home, sizeMb: 6, seed: 3 });
  const result = await create({
    home, outputDir: path.join(dir, 'out'), encrypt: true, password, compression: 'zstd', compressionLevel: 3,
    include: ['models', 'cache', 'config'], exclude: [], kdfIterations: 1000,
  });
  original = await fs.readFile(result.backup.path);
  headerLen = headerSizeFromPrefix(original)!;
  const parsed = parseHeader(original.subarray(0, headerLen));
  segment = parsed.header.segment_size + TAG_BYTES;
  segments = Math.ceil((original.length - headerLen) / segment);
  assert.ok(segments >= 3, `need at least 3 segments, got ${segments}`);
});

describe('an encrypted archive refuses every kind of damage with its own code', () => {
  test('intact archive verifies', async () => assert.equal(await codeOf(original), 'OK'));

  test('wrong password', async () => {
    assert.equal(await codeOf(original, () => Promise.resolve(Buffer.from('not the password'))), 'WRONG_PASSWORD');
  });

  test('a flipped byte in the public header', async () => assert.equal(await codeOf(flip(original, 20)), 'CORRUPT_HEADER'));

  test('a flipped byte in the wrapped key', async () => assert.equal(await codeOf(flip(original, headerLen - 32 - 16 - 5)), 'CORRUPT_HEADER'));

  test('a flipped magic byte', async () => assert.equal(await codeOf(flip(original, 0)), 'NOT_AN_ARCHIVE'));

  test('a flipped byte in a middle segment', async () => {
    assert.equal(await codeOf(flip(original, headerLen + segment + 1000)), 'CORRUPT_ARCHIVE');
  });

  test('a flipped byte in the last segment', async () => assert.equal(await codeOf(flip(original, original.length - 3)), 'CORRUPT_ARCHIVE'));

  test('two segments swapped', async () => {
    const copy = Buffer.from(original);
    original.copy(copy, headerLen, headerLen + segment, headerLen + 2 * segment);
    original.copy(copy, headerLen + segment, headerLen, headerLen + segment);
    assert.equal(await codeOf(copy), 'CORRUPT_ARCHIVE');
  });

  test('a segment dropped', async () => {
    const copy = Buffer.concat([original.subarray(0, headerLen + segment), original.subarray(headerLen + 2 * segment)]);
    assert.equal(await codeOf(copy), 'TRUNCATED_ARCHIVE');
  });

  test('bytes appended', async () => {
    assert.equal(await codeOf(Buffer.concat([original, Buffer.from('garbage')])), 'TRAILING_DATA');
    assert.equal(await codeOf(Buffer.concat([original, Buffer.alloc(segment)])), 'TRAILING_DATA');
  });

  test('truncated at many offsets', async () => {
    const offsets = [9, 13, 40, headerLen - 1, headerLen, headerLen + 1, headerLen + segment, headerLen + segment + 7, original.length - TAG_BYTES, original.length - 1];
    for (const at of offsets) assert.equal(await codeOf(original.subarray(0, at)), 'TRUNCATED_ARCHIVE', `truncated at ${at}`);
  });

  test('property: any single flipped bit anywhere is refused', async () => {
    const integrity = new Set(['CORRUPT_HEADER', 'CORRUPT_ARCHIVE', 'NOT_AN_ARCHIVE', 'TRUNCATED_ARCHIVE', 'TRAILING_DATA', 'WRONG_PASSWORD', 'UNSUPPORTED_FORMAT']);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: original.length - 1 }), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
        const copy = Buffer.from(original);
        copy[at]! ^= 1 << bit;
        const code = await codeOf(copy);
        return integrity.has(code);
      }),
      { numRuns: 40 },
    );
  });
});

describe('an unencrypted archive detects damage through its manifest', () => {
  test('a flipped byte in the body is reported, never accepted', async () => {
    const home = path.join(dir, 'home');
    const result = await create({
      home, outputDir: path.join(dir, 'plain'), encrypt: false, compression: 'zstd', compressionLevel: 3,
      include: ['models', 'config'], exclude: [],
    });
    const bytes = await fs.readFile(result.backup.path);
    for (const at of [Math.floor(bytes.length / 3), Math.floor(bytes.length / 2)]) {
      const code = await codeOf(flip(bytes, at), password);
      assert.ok(['CORRUPT_ARCHIVE', 'CHECKSUM_MISMATCH'].includes(code), `flip at ${at} gave ${code}`);
    }
    assert.equal(await codeOf(bytes.subarray(0, bytes.length - 10)), 'TRUNCATED_ARCHIVE');
    assert.equal(await codeOf(Buffer.concat([bytes, Buffer.from('tail garbage')])), 'TRAILING_DATA');
  });
});

describe('an archive whose metadata.json is not JSON', () => {
  test('verify refuses it as CORRUPT_ARCHIVE, not an internal error', async () => {
    const { writeArchive } = await import('../../../src/engine/archive/writer.js');
    const { getCodec } = await import('../../../src/engine/codec/index.js');
    // A valid plain-tar archive whose metadata.json gets one byte of garbage.
    await writeArchive({
      path: path.join(dir, 'badmeta.tar'), codec: getCodec('none'), codecLevel: null, encryption: null,
      metadata: { id: 'x', created: new Date().toISOString() } as never, files: [],
    });
    const bytes = await fs.readFile(path.join(dir, 'badmeta.tar'));
    const at = bytes.indexOf(Buffer.from('{\n  "id"'));
    bytes.write('#', at, 'latin1');
    const code = await codeOf(bytes);
    assert.ok(['CORRUPT_ARCHIVE', 'CHECKSUM_MISMATCH'].includes(code), code);
  });
});

describe('the container version must be one this aico-backup knows', () => {
  /** The archive with another container version and a header checksum that matches it. */
  const withVersion = (version: number) => {
    const copy = Buffer.from(original);
    copy.writeUInt16BE(version, 8);
    createHash('sha256').update(copy.subarray(0, headerLen - 32)).digest().copy(copy, headerLen - 32);
    return copy;
  };

  test('version 0 is a damaged header, not an old format', async () => {
    assert.equal(await codeOf(withVersion(0)), 'CORRUPT_HEADER');
    assert.throws(() => parseHeader(withVersion(0).subarray(0, headerLen)), (e) => isAicoError(e, 'CORRUPT_HEADER') && /version 0/.test(e.message));
  });

  test('a newer version is UNSUPPORTED_FORMAT (exit 8) and says to upgrade', async () => {
    for (const version of [3, 0xffff]) {
      assert.equal(await codeOf(withVersion(version)), 'UNSUPPORTED_FORMAT');
      assert.throws(
        () => parseHeader(withVersion(version).subarray(0, headerLen)),
        (e) => isAicoError(e, 'UNSUPPORTED_FORMAT') && e.exitCode === 8 && e.message.includes(`version ${version}`) && /newer aico-backup/.test(e.hint ?? ''),
      );
    }
  });

  test('list reports the version problem instead of describing the archive', async () => {
    const listDir = path.join(dir, 'versions');
    await fs.mkdir(listDir);
    await fs.writeFile(path.join(listDir, 'aico-backup-20260101-000000.tar.zst.enc'), withVersion(0));
    await fs.writeFile(path.join(listDir, 'aico-backup-20260101-000001.tar.zst.enc'), withVersion(3));
    const { backups } = await list({ dir: listDir });
    assert.deepEqual(
      backups.map((b) => [b.name, b.problem?.code, b.format_version]),
      [
        ['aico-backup-20260101-000001.tar.zst.enc', 'UNSUPPORTED_FORMAT', null],
        ['aico-backup-20260101-000000.tar.zst.enc', 'CORRUPT_HEADER', null],
      ],
    );
  });
});
