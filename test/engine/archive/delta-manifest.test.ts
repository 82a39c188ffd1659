import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { badRuns, changedRuns, storedSize } from '../../../src/engine/archive/delta-blocks.js';
import { parseManifest } from '../../../src/engine/archive/inspect.js';
import type { ManifestFile } from '../../../src/engine/archive/metadata.js';
import { churnHome, create, isAicoError, restore, seedSample, verify, type CreateOptions } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const sha = (s: string) => createHash('sha256').update(s).digest();
const file = (over: Partial<ManifestFile>): ManifestFile => ({
  path: 'databases/aico.db', source: 'libsql', size: 10 * 4096 + 100, mode: 0o600, mtime: '2026-12-01T00:00:00.000Z',
  sha256: 'a'.repeat(64), block_size: 4096, blocks_offset: 0, blocks_count: 11, ...over,
});

describe('changed runs (docs/FORMAT.md section 18.4)', () => {
  test('blocks whose hash differs, and blocks past the parent end, in ascending runs that never touch', () => {
    const blocks = (...names: string[]) => Buffer.concat(names.map(sha));
    assert.deepEqual(changedRuns(blocks('a', 'b', 'c', 'd'), blocks('a', 'b', 'c', 'd')), []);
    assert.deepEqual(changedRuns(blocks('a', 'X', 'Y', 'd', 'Z'), blocks('a', 'b', 'c', 'd')), [[1, 2], [4, 1]]);
    assert.deepEqual(changedRuns(blocks('a', 'b'), blocks('a', 'b', 'c')), [], 'a file that only got shorter');
    assert.deepEqual(changedRuns(blocks('X'), Buffer.alloc(0)), [[0, 1]]);
  });

  test('stored size: the last block of a file may be short, and only counts when it is in a run', () => {
    assert.equal(storedSize(file({ stored: 'blocks', changed: [[0, 2], [10, 1]] })), 2 * 4096 + 100);
    assert.equal(storedSize(file({ stored: 'blocks', changed: [[3, 1]] })), 4096);
    assert.equal(storedSize(file({ stored: 'parent' })), 0);
    assert.equal(storedSize(file({})), 10 * 4096 + 100);
  });

  test('runs out of order, touching, empty or past the end are refused', () => {
    assert.equal(badRuns(file({ changed: [[0, 1], [5, 2]] })), null);
    assert.equal(badRuns(file({ changed: [] })), null, 'empty: the file only got shorter');
    for (const changed of [[[0, 2], [2, 1]], [[5, 1], [1, 1]], [[0, 0]], [[10, 2]], [[-1, 1]], [[1.5, 1]], [[1]]] as unknown as [number, number][][]) {
      assert.notEqual(badRuns(file({ changed })), null, JSON.stringify(changed));
    }
  });

  test('a manifest with a bad stored kind or bad runs is CORRUPT_ARCHIVE before anything is read', () => {
    const manifest = (f: Partial<ManifestFile>) => Buffer.from(JSON.stringify({ format: 2, block_hash: 'sha256', metadata_sha256: 'b'.repeat(64), files: [file(f)] }));
    assert.equal(parseManifest(manifest({ stored: 'blocks', changed: [[0, 1]] })).files[0]!.stored, 'blocks');
    for (const bad of [{ stored: 'elsewhere' as never }, { stored: 'blocks' as const }, { stored: 'blocks' as const, changed: [[0, 12]] as [number, number][] }, { stored: 'whole' as const, changed: [[0, 1]] as [number, number][] }]) {
      assert.throws(() => parseManifest(manifest(bad)), (e) => isAicoError(e, 'CORRUPT_ARCHIVE'), JSON.stringify(bad));
    }
  });
});

describe('a tampered delta archive', () => {
  const dir = tempDir();
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  let env: NodeJS.ProcessEnv;
  const options = (over: Partial<CreateOptions> = {}): CreateOptions => ({
    home, outputDir: out, encrypt: false, compression: 'none', compressionLevel: 3, include: ['libsql', 'config'], exclude: [], env, ...over,
  });
  let delta = '';

  before(async () => {
    const seeded = await seedSample({ home, sizeMb: 2, seed: 8 });
    env = { AICO_MASTER_KEY: seeded.masterKey, DBUS_SESSION_BUS_ADDRESS: undefined };
    await create(options());
    await churnHome({ home, seed: 3, env });
    delta = (await create(options({ backupType: 'incremental' }))).backup.path;
  });

  test('a byte changed inside a changed block: verify names the file (BLOCK_HASH_MISMATCH) and restore writes nothing', async () => {
    const bytes = await fs.readFile(delta);
    const header = bytes.indexOf(Buffer.from('blocks/databases/aico.db\0'));
    assert.ok(header >= 0 && header % 512 === 0, 'the changed blocks of aico.db are an entry of the uncompressed tar');
    const copy = path.join(dir, 'tampered', path.basename(delta));
    await fs.mkdir(path.dirname(copy), { recursive: true });
    // The parent too, found by id in the same directory.
    for (const name of await fs.readdir(out)) if (name !== path.basename(delta) && name.startsWith('aico-backup-')) await fs.copyFile(path.join(out, name), path.join(path.dirname(copy), name));
    bytes[header + 512 + 100]! ^= 0x01;
    await fs.writeFile(copy, bytes);
    const v = await verify({ path: copy });
    assert.equal(v.ok, false);
    assert.deepEqual(v.problems.map((p) => [p.code, p.path]), [['BLOCK_HASH_MISMATCH', 'databases/aico.db']]);
    const target = path.join(dir, 'never');
    await assert.rejects(restore({ path: copy, home, target, safetyBackupDir: null, env }), (e) => isAicoError(e, 'CHECKSUM_MISMATCH'));
    await assert.rejects(fs.stat(path.join(target, 'data')), { code: 'ENOENT' });
  });
});
