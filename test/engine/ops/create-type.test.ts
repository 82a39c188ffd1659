import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { create, seedFiles, type CreateOptions } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');
const base = (outputDir: string, over: Partial<CreateOptions> = {}): CreateOptions => ({
  home, outputDir, encrypt: false, compression: 'none', compressionLevel: 3, include: ['config', 'cache'], exclude: [], ...over,
});

before(async () => {
  await seedFiles({ home, sizeMb: 1, seed: 9 });
});

describe('create: backup type and parent', () => {
  test('a full backup says so in its result and metadata, with no parent', async () => {
    const r = await create(base(path.join(dir, 'full')));
    assert.deepEqual([r.backup.type, r.backup.parent_id], ['full', null]);
    const into = path.join(dir, 'x-full');
    await fs.mkdir(into);
    execFileSync('tar', ['-xf', r.backup.path, '-C', into]);
    const metadata = JSON.parse(await fs.readFile(path.join(into, 'metadata.json'), 'utf8'));
    assert.deepEqual([metadata.backup_type, metadata.parent_id], ['full', null]);
  });

  test('a full backup with a parent, or an unknown type, is refused with USAGE', async () => {
    const out = path.join(dir, 'bad-type');
    await assert.rejects(create(base(out, { parent: 'abc' })), (e: any) => e.code === 'USAGE' && /A full backup builds on no other backup/.test(e.message));
    await assert.rejects(create(base(out, { backupType: 'weekly' as never })), (e: any) => e.code === 'USAGE' && /Unknown backup type "weekly"/.test(e.message));
    await assert.rejects(fs.stat(out), { code: 'ENOENT' });
  });

});
