import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { freeArchivePath } from '../../../src/engine/archive/naming.js';
import { tempDir } from '../../helpers.js';

const root = tempDir();
const created = new Date(Date.UTC(2026, 0, 2, 12, 0, 0, 345));
const STEM = 'aico-backup-20260102-120000';

/** A fresh directory holding empty files with the given names. */
async function dirWith(names: string[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(root, 'n-'));
  for (const name of names) await fs.writeFile(path.join(dir, name), '');
  return dir;
}

const chosen = async (existing: string[], extension: string, encrypted: boolean) =>
  path.basename(await freeArchivePath(await dirWith(existing), created, extension, encrypted));

describe('freeArchivePath never overwrites, and adds -N only for a real collision', () => {
  test('an empty directory gets the plain name', async () => {
    assert.equal(await chosen([], '.zst', true), `${STEM}.tar.zst.enc`);
  });

  test('archives of the same second with other extensions do not collide', async () => {
    const others = [`${STEM}.tar.gz`, `${STEM}.tar.zst`, `${STEM}.tar.zst.enc`, `${STEM}.tar.lz4.enc`, `${STEM}.tar.enc`];
    assert.equal(await chosen(others, '', false), `${STEM}.tar`);
    assert.equal(await chosen([`${STEM}.tar.zst.enc`], '.zst', false), `${STEM}.tar.zst`);
    assert.equal(await chosen([`${STEM}.tar.gz`], '.gz', true), `${STEM}.tar.gz.enc`);
  });

  test("another archive's partial files do not collide", async () => {
    const partials = [`${STEM}.tar.gz.4242.partial`, `${STEM}.tar.zst.4242.blocks.partial`];
    assert.equal(await chosen(partials, '', false), `${STEM}.tar`);
  });

  test('the same name, or a partial file of it, bumps the suffix', async () => {
    assert.equal(await chosen([`${STEM}.tar`], '', false), `${STEM}-2.tar`);
    assert.equal(await chosen([`${STEM}.tar.zst.enc`, `${STEM}-2.tar.zst.enc`], '.zst', true), `${STEM}-3.tar.zst.enc`);
    assert.equal(await chosen([`${STEM}.tar.4242.partial`], '', false), `${STEM}-2.tar`);
    assert.equal(await chosen([`${STEM}.tar.gz.4242.blocks.partial`], '.gz', false), `${STEM}-2.tar.gz`);
  });
});
