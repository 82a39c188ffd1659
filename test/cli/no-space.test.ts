// A backup directory on a real 4 MiB tmpfs, a home larger than that: create must stop with
// NO_SPACE (exit 7) naming where it was writing, and leave neither a partial file nor a change
// in the home. Mounting needs root; elsewhere the file is skipped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, treeHashes } from '../helpers.js';

const root = process.getuid?.() === 0;
// Not tempDir(): the mount must be gone before the directory is removed.
const dir = mkdtempSync(path.join(tmpdir(), 'aico-nospace-'));
const out = path.join(dir, 'out');
/** Config is archived straight from the home (no staged copy), so the archive itself fills the disk. */
const configHome = path.join(dir, 'config-home');
const sampleHome = path.join(dir, 'sample-home');
let mounted = false;
let sampleKey = '';

before(async () => {
  if (!root) return;
  await fs.mkdir(out);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', out]);
  mounted = true;
  await fs.mkdir(path.join(configHome, 'config'), { recursive: true });
  await fs.writeFile(path.join(configHome, 'config', 'runtime.yaml'), 'runtime:\n  log_level: info\n');
  // Random bytes: no codec shrinks them below the 4 MiB the disk holds.
  await fs.writeFile(path.join(configHome, 'config', 'voice-model.bin'), randomBytes(8 * 1024 * 1024));
  const seeded = await runCli(['--home', sampleHome, '--json', 'demo', 'seed', '--size', '8']);
  assert.equal(seeded.code, 0, seeded.stderr);
  sampleKey = seeded.json.master_key;
});

after(async () => {
  if (mounted) execFileSync('umount', [out]);
  await fs.rm(dir, { recursive: true, force: true });
});

/**
 * The home's files but LMDB's lock.mdb: that is shared memory which every open of the env
 * (AICO's, and the snapshot's read transaction) writes its reader slot into, not data.
 */
async function homeData(home: string): Promise<Record<string, string>> {
  const hashes = await treeHashes(home);
  delete hashes['data/memory/working/lock.mdb'];
  return hashes;
}

async function assertNoSpace(home: string, args: string[], env: Record<string, string> = {}) {
  const before = await homeData(home);
  const r = await runCli(['--home', home, '--json', 'backup', 'create', '-o', out, ...args], { env });
  assert.equal(r.code, 7, r.stdout + r.stderr.slice(-2000));
  assert.equal(r.json.error.code, 'NO_SPACE', r.stdout);
  assert.ok(r.json.error.message.includes(out), `the message names the backup directory: ${r.json.error.message}`);
  assert.ok(!r.json.error.message.includes(home), `the message does not blame the home: ${r.json.error.message}`);
  assert.deepEqual(await fs.readdir(out), [], 'nothing left on the full disk');
  assert.deepEqual(await homeData(home), before, 'the home is unchanged');
  return r.json.error.message as string;
}

describe('create on a full disk', { skip: !root && 'needs root to mount a tmpfs' }, () => {
  for (const codec of ['zstd', 'gzip', 'lz4', 'none']) {
    for (const encrypted of [true, false]) {
      test(`${codec}, ${encrypted ? 'encrypted' : 'unencrypted'}: NO_SPACE naming the archive, no partial file, home unchanged`, async () => {
        const message = await assertNoSpace(configHome, ['--compression', codec, '--include', 'config', ...(encrypted ? [] : ['--no-encrypt'])], { AICO_BACKUP_PASSWORD: 'nospace-pw' });
        assert.match(message, /aico-backup-\d{8}-\d{6}\.tar/, 'it names the archive being written');
      });
    }
  }

  test('a sample home whose database snapshots do not fit: NO_SPACE naming the backup directory', async () => {
    await assertNoSpace(sampleHome, [], { AICO_BACKUP_PASSWORD: 'nospace-pw', AICO_MASTER_KEY: sampleKey });
  });
});
