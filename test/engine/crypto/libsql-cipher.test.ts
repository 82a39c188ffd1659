import assert from 'node:assert/strict';
import { createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../helpers.js';

// docs/FORMAT.md section 16 tells a reader without libsql how to decrypt
// AICO's database. These tests write a database with libsql exactly as AICO
// keys it and decrypt it with nothing but that description, so a libsql
// upgrade that changes the cipher shows up here rather than in a user's restore.

const require = createRequire(import.meta.url);
const Database = require('libsql') as new (path: string) => { exec(sql: string): void; prepare(sql: string): { all(): unknown[] }; close(): void };

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const PDF_PAD = Buffer.from('28bf4e5e4e758a4164004e56fffa01082e2e00b6d0683e802f0ca9fe6453697a', 'hex');
const MASTER = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const SALT = Buffer.from(Array.from({ length: 16 }, (_, i) => i));
const VECTOR = '099b0484cbabcfe99a622551b58d1b90c9ec75732e0e5c364cf2a2cc233dd63e';

function cipherKey(pragmaKey: string): Buffer {
  const passphrase = Buffer.from(pragmaKey, 'latin1');
  let k = sha256(Buffer.concat([passphrase.subarray(0, 32), PDF_PAD]).subarray(0, 32));
  for (let i = 0; i < 4001; i++) k = sha256(k);
  return k;
}

function pageIv(n: number): Buffer {
  const seed = Buffer.alloc(16);
  let z = n + 1;
  for (let j = 0; j < 4; j++) {
    const q = Math.floor(z / 52774);
    z = 40692 * (z - 52774 * q) - 3791 * q;
    if (z < 0) z += 2147483399;
    seed.writeUInt32LE(z, 4 * j);
  }
  return createHash('md5').update(seed).digest();
}

function decryptPage(k: Buffer, n: number, data: Buffer): Buffer {
  const number = Buffer.alloc(4);
  number.writeUInt32LE(n);
  const aes = createDecipheriv('aes-256-cbc', sha256(k, number, Buffer.from('sAlT')), pageIv(n)).setAutoPadding(false);
  if (n !== 1) return Buffer.concat([aes.update(data), aes.final()]);
  const plain = Buffer.concat([aes.update(Buffer.concat([data.subarray(8, 16), data.subarray(24)])), aes.final()]);
  assert.deepEqual(plain.subarray(0, 8), data.subarray(16, 24), 'page 1 check (wrong key?)');
  return Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), plain]);
}

/** A database keyed the way AICO keys it, with one row in the main file and one only in the WAL. */
async function aicoStyleDatabase(hexKey: string): Promise<{ db: Buffer; wal: Buffer; file: string }> {
  const file = path.join(tempDir(), 'aico.db');
  const db = new Database(file);
  db.exec(`PRAGMA key = 'x"${hexKey}"'`);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('in the main file')");
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.exec("INSERT INTO notes VALUES ('only in the wal')");
  const wal = await fs.readFile(`${file}-wal`);
  db.close();
  return { db: await fs.readFile(file), wal, file };
}

describe('AICO\'s libSQL encryption, as docs/FORMAT.md section 16 describes it', () => {
  test('the key derivation test vector', () => {
    const key = pbkdf2Sync(Buffer.concat([MASTER, Buffer.from('aico-db-libsql')]), SALT, 100_000, 32, 'sha256');
    assert.equal(key.toString('hex'), VECTOR);
  });

  test('pages of the database and of its WAL decrypt with the documented cipher', async () => {
    const { db, wal } = await aicoStyleDatabase(VECTOR);
    const pageSize = (db[16]! << 8) | (db[17]! << 16);
    assert.equal(db.subarray(16, 24).toString('hex'), '1000020200402020', 'bytes 16..23 are plain: 4096-byte pages, WAL, 0 reserved');
    const k = cipherKey(`x"${VECTOR}"`);
    const pages = Array.from({ length: db.length / pageSize }, (_, i) => decryptPage(k, i + 1, db.subarray(i * pageSize, (i + 1) * pageSize)));
    assert.equal(pages[0]!.toString('latin1', 0, 16), 'SQLite format 3\0');
    assert.ok(pages.some((p) => p.includes('in the main file')));
    const frames: Buffer[] = [];
    for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
      frames.push(decryptPage(k, wal.readUInt32BE(at), wal.subarray(at + 24, at + 24 + pageSize)));
    }
    assert.ok(frames.some((p) => p.includes('only in the wal')));
  });

  test('only the first 32 bytes of the pragma string count: x" and 30 hex digits', async () => {
    const { file } = await aicoStyleDatabase(VECTOR);
    const open = (hex: string) => {
      const db = new Database(file);
      try {
        db.exec(`PRAGMA key = 'x"${hex}"'`);
        return db.prepare('SELECT count(*) AS n FROM notes').all();
      } catch (error) {
        return (error as Error).message;
      } finally {
        db.close();
      }
    };
    assert.deepEqual(open(VECTOR.slice(0, 30) + 'f'.repeat(34)), [{ n: 2 }]);
    assert.match(String(open(VECTOR.slice(0, 29) + (VECTOR[29] === '0' ? '1' : '0') + VECTOR.slice(30))), /not a database/);
  });
});
