import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { getCodec, CODEC_NAMES } from '../../../src/engine/codec/index.js';

const text = Buffer.from(Array.from({ length: 40000 }, (_, i) => `row ${i % 977} remembered the garden walk ${i % 13}\n`).join('')).subarray(0, 1 << 20);

describe('codecs', () => {
  for (const name of CODEC_NAMES) {
    const codec = getCodec(name);
    test(`${name}: frames round-trip and are found by scanFrame`, async () => {
      const a = await codec.compressFrame(text, codec.codecLevel(3));
      const b = await codec.compressFrame(randomBytes(70000), codec.codecLevel(3));
      const stream = Buffer.concat([a, b]);
      if (name !== 'none') {
        const first = codec.scanFrame(stream);
        assert.deepEqual(first.kind === 'data' && first.length, a.length);
        assert.equal(codec.scanFrame(a.subarray(0, a.length - 1)).kind, 'incomplete');
      }
      assert.ok((await codec.decompressFrame(a, 4 << 20)).equals(text));
      const locator = codec.wrapLocator(Buffer.from('L'.repeat(40)));
      assert.equal(codec.unwrapLocator(locator)?.toString(), 'L'.repeat(40));
    });
  }

  test('the level really changes the output (zstd, gzip)', async () => {
    for (const name of ['zstd', 'gzip']) {
      const codec = getCodec(name);
      const fast = await codec.compressFrame(text, codec.codecLevel(1));
      const small = await codec.compressFrame(text, codec.codecLevel(9));
      assert.notDeepEqual(fast, small, name);
      assert.ok(small.length < fast.length, `${name}: level 9 (${small.length}) should beat level 1 (${fast.length})`);
    }
  });

  test('frames that would decode past the limit are refused (bombs)', async () => {
    const zeros = Buffer.alloc(8 << 20);
    for (const name of ['zstd', 'gzip', 'lz4']) {
      const codec = getCodec(name);
      const bomb = await codec.compressFrame(zeros, codec.codecLevel(3));
      await assert.rejects(codec.decompressFrame(bomb, 4 << 20), /more than|larger than|Cannot create a Buffer|RangeError|exceed/i, name);
    }
  });
});
