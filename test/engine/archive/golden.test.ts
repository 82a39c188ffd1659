import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { MAX_FORMAT_VERSION } from '../../../src/engine/archive/layout.js';
import { info, list, restore, verify } from '../../../src/engine/index.js';
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
  for (let v = 1; v <= MAX_FORMAT_VERSION; v++) {
    assert.ok((found.get(`v${v}`) ?? 0) > 0, `no golden archives in ${path.join(GOLDEN, `v${v}`)}`);
  }
  for (const [version, count] of found) assert.ok(count > 0, `${path.join(GOLDEN, version)} holds no archives`);
});

describe('golden archives of every format version', async () => {
  for (const version of await versionDirs()) {
    const dir = path.join(GOLDEN, version);
    const password = () => Promise.resolve(Buffer.from(`golden-${version}`));
    if (version === 'v1') await describeHomeArchives(dir, version, password);
    else await describeChains(dir, version, password);
  }
});

/** v1: every archive holds the same home (home.sha256), a plain-file tree in the database layout. */
async function describeHomeArchives(dir: string, version: string, password: () => Promise<Buffer>) {
  const home: Record<string, string> = {};
  for (const line of (await fs.readFile(path.join(dir, 'home.sha256'), 'utf8')).trim().split('\n')) {
    const [hash, file] = line.split(/\s+/);
    home[file!.replace(/^\.\//, '')] = hash!;
  }
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

interface Points {
  /** The sample home's master key (a sample, not a secret), for the plain chain's libSQL. */
  sample_master_key: string;
  /** Archive name -> home path -> SHA-256 of the home at the time that archive was made. */
  points: Record<string, Record<string, string>>;
}

/**
 * v2 and later: chains (a full backup and the deltas on it) with their real
 * names, since links are found by id in their directory. Every archive
 * verifies with its chain; every restore point restores to the home it was
 * made from; and the chain reader of FORMAT.md section 18.11, run as it is
 * printed there, restores the plain one too.
 */
async function describeChains(dir: string, version: string, password: () => Promise<Buffer>) {
  const { sample_master_key: masterKey, points } = JSON.parse(await fs.readFile(path.join(dir, 'points.json'), 'utf8')) as Points;
  const env = { AICO_MASTER_KEY: masterKey, DBUS_SESSION_BUS_ADDRESS: undefined };
  const all = await archivesIn(dir);
  // list needs no password; newest first. The tool restores the encrypted chain's newest incremental and
  // newest differential, the chain reader below every plain delta.
  const listed = (await list({ dir })).backups.filter((b) => b.encrypted);
  const restored = new Set(['incremental', 'differential'].map((t) => listed.find((b) => b.type === t)!.name));
  for (const name of all) {
    test(`${version}/${name} verifies with its chain${restored.has(name) ? ' and restores the home of its time' : ''}`, async () => {
      const file = path.join(dir, name);
      const v = await verify({ path: file, password });
      assert.deepEqual([v.ok, v.problems, v.chain.filter((l) => !l.ok)], [true, [], []]);
      const i = await info({ path: file, password });
      assert.equal(i.metadata.backup_version, i.metadata.backup_type === 'full' ? 1 : Number(version.slice(1)));
      assert.ok(points[name], `points.json has no entry for ${name}`);
      if (!restored.has(name)) return;
      const target = path.join(tempDir(), 'restored');
      await restore({ path: file, home: tempDir(), target, password, safetyBackupDir: null, env });
      const got = await treeHashes(target);
      for (const [p, h] of Object.entries(points[name]!)) assert.equal(got[p], h, p);
    });
  }
  test(`${version}: the chain reader of FORMAT.md section 18.11 restores every plain incremental and differential`, async () => {
    const doc = await fs.readFile(path.join(ROOT, 'docs', 'FORMAT.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### 18.11'));
    const code = /```python\n([\s\S]*?)```/.exec(section)![1]!;
    const plain = (await archivesIn(dir)).filter((n) => n.endsWith('.tar.gz'));
    assert.ok(plain.length >= 2);
    const deltas = plain.filter((n) => n !== plain[0]);
    for (const name of deltas) {
      const into = tempDir();
      execFileSync('/usr/bin/python3', ['-c', `${code}\nimport sys\nrestore_point(sys.argv[1], sys.argv[2])`, path.join(dir, name), into]);
      const expected = expectedArchiveTree(points[name]!, DATABASE_LAYOUT);
      assert.deepEqual(await treeHashes(into), expected, name);
    }
  });
}
