import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { headerSizeFromPrefix } from '../../../src/engine/crypto/header.js';
import { create, isAicoError, verify } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const PASSWORD = 'header-test';
const password = () => Promise.resolve(Buffer.from(PASSWORD));
const dir = tempDir();
let original: Buffer;

before(async () => {
  const home = path.join(dir, 'home');
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  await fs.writeFile(path.join(home, 'config', 'core.yaml'), 'a: 1\n');
  const result = await create({
    home, outputDir: path.join(dir, 'out'), encrypt: true, password, compression: 'none', compressionLevel: 3,
    include: ['config'], exclude: [], kdfIterations: 1000,
  });
  original = await fs.readFile(result.backup.path);
});

/** The archive with its public header JSON edited and the unkeyed header checksum made to match, as a forger would. */
function withPublicHeader(edit: (header: Record<string, any>) => void): Buffer {
  const length = headerSizeFromPrefix(original)!;
  const L = original.readUInt32BE(10);
  const header = JSON.parse(original.toString('utf8', 14, 14 + L));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const lengthField = Buffer.alloc(4);
  lengthField.writeUInt32BE(json.length);
  const head = Buffer.concat([original.subarray(0, 10), lengthField, json, original.subarray(14 + L, length - 32)]);
  return Buffer.concat([head, createHash('sha256').update(head).digest(), original.subarray(length)]);
}

async function codeOf(bytes: Buffer): Promise<string> {
  const file = path.join(dir, `case-${Math.random().toString(36).slice(2)}.tar.enc`);
  await fs.writeFile(file, bytes);
  try {
    return (await verify({ path: file, password })).ok ? 'OK' : 'problems';
  } catch (error) {
    if (isAicoError(error)) return error.code;
    throw error;
  } finally {
    await fs.rm(file, { force: true });
  }
}

describe('the public header must hold the KDF parameters the format allows', () => {
  test('the untouched archive verifies', async () => assert.equal(await codeOf(original), 'OK'));

  test('a salt that is not 16 bytes of base64 is CORRUPT_HEADER, not a wrong password', async () => {
    const salts = [
      Buffer.alloc(15, 7).toString('base64'),
      Buffer.alloc(17, 7).toString('base64'),
      Buffer.alloc(18, 7).toString('base64'),
      '!!!!!!!!!!!!!!!!!!!!!!==',
      '',
    ];
    for (const salt of salts) {
      assert.equal(await codeOf(withPublicHeader((h) => (h.kdf.salt = salt))), 'CORRUPT_HEADER', JSON.stringify(salt));
    }
    assert.equal(await codeOf(withPublicHeader((h) => (h.kdf.salt = 7))), 'CORRUPT_HEADER', 'a number');
  });

  test('iterations that are not an integer are CORRUPT_HEADER', async () => {
    for (const iterations of ['1000', 1000.5, true, null, 0]) {
      assert.equal(await codeOf(withPublicHeader((h) => (h.kdf.iterations = iterations))), 'CORRUPT_HEADER', JSON.stringify(iterations));
    }
  });
});
