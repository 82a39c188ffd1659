import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FORMAT_VERSION } from '../../../src/engine/archive/layout.js';
import { info, verify } from '../../../src/engine/index.js';
import { DATABASE_LAYOUT, expectedArchiveTree, ROOT, tempDir, treeHashes } from '../../helpers.js';

/**
 * Archives written by released versions must stay readable. Each format
 * version keeps its files in test/fixtures/golden/vN with the sha256 list of
 * the home they were made from (password of the encrypted ones: golden-vN).
 */
const GOLDEN = path.join(ROOT, 'test', 'fixtures', 'golden');

const versionDirs = async () => (await fs.readdir(GOLDEN, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => e.name);
const archivesIn = async (dir: string) => (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.includes('.tar'));

// Without this, a missing or emptied fixture directory would pass as zero tests.
test('golden fixtures exist for every format version up to the current one', async () => {
  const found = new Map<string, number>();
  for (const version of await versionDirs()) found.set(version, (await archivesIn(path.join(GOLDEN, version))).length);
  for (let v = 1; v <= FORMAT_VERSION; v++) {
    assert.ok((found.get(`v${v}`) ?? 0) > 0, `no golden archives in ${path.join(GOLDEN, `v${v}`)}`);
  }
  for (const [version, count] of found) assert.ok(count > 0, `${path.join(GOLDEN, version)} holds no archives`);
});

describe('golden archives of every format version', async () => {
  for (const version of await versionDirs()) {
    const dir = path.join(GOLDEN, version);
    const password = () => Promise.resolve(Buffer.from(`golden-${version}`));
    const home: Record<string, string> = {};
    for (const line of (await fs.readFile(path.join(dir, 'home.sha256'), 'utf8')).trim().split('\n')) {
      const [hash, file] = line.split(/\s+/);
      home[file!.replace(/^\.\//, '')] = hash!;
    }
    // The v1 golden home was a plain-file tree in the database layout.
    const expected = expectedArchiveTree(home, DATABASE_LAYOUT);
    for (const name of await archivesIn(dir)) {
      test(`${version}/${name} verifies and holds the original files`, async () => {
        const file = path.join(dir, name);
        const v = await verify({ path: file, password });
        assert.deepEqual(v.problems, []);
        const i = await info({ path: file, password });
        assert.equal(i.metadata.backup_version, Number(version.slice(1)));
        assert.equal(i.contents.files, Object.keys(expected).length);
        if (!name.endsWith('.enc')) {
          const into = tempDir();
          execFileSync('bash', ['-o', 'pipefail', '-c', `gzip -dc "$0" | tar -xf - -C "$1"`, file, into]);
          const got = await treeHashes(into);
          for (const [p, h] of Object.entries(expected)) assert.equal(got[p], h, p);
        }
      });
    }
  }
});
