import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { churnHome, seedSample } from '../../src/engine/index.js';
import { runCli, tempDir, treeHashes } from '../helpers.js';

/**
 * A power cut (SIGKILL at a named point, AICO_FAULT) in the middle of an
 * incremental create or of a chain restore: the chain, the home and the
 * target are as they were, and the next run does the job.
 */
const dir = tempDir('aico-incr-crash-');
const home = path.join(dir, 'home');
const out = path.join(dir, 'out');
let env: Record<string, string | undefined>;
const archives = async () => (await fs.readdir(out)).filter((n) => /^aico-backup-.*\.enc$/.test(n)).sort();
// The databases and config, not SQLite's -wal/-shm: a libSQL connection of the test process (the churn's)
// is only closed when it is garbage collected, and SQLite then removes them, whenever that is.
const data = async (root: string) => Object.fromEntries(Object.entries(await treeHashes(root)).filter(([p]) => /^(data\/(aico\.db|memory\/(semantic\/.*|working\/data\.mdb))|config\/.*)$/.test(p)));

before(async () => {
  const seeded = await seedSample({ home, sizeMb: 4, seed: 33 });
  env = { AICO_MASTER_KEY: seeded.masterKey, AICO_BACKUP_PASSWORD: 'crash-pw', DBUS_SESSION_BUS_ADDRESS: undefined };
  const full = await runCli(['--home', home, '--json', 'backup', 'create', '-o', out], { env });
  assert.equal(full.code, 0, full.stderr);
  await churnHome({ home, seed: 5, env });
});

describe('killed in the middle', () => {
  test('an incremental create killed after writing changed blocks leaves no archive; the chain is untouched and the rerun works', async () => {
    const before = await treeHashes(out);
    const killed = await runCli(['--home', home, '--json', 'backup', 'create', '-o', out, '--type', 'incremental'], { env: { ...env, AICO_FAULT: 'delta-blocks' } });
    assert.notEqual(killed.code, 0, 'the create was killed');
    assert.equal((await archives()).length, 1, 'no archive under a final name');
    const after = await treeHashes(out);
    for (const [name, hash] of Object.entries(before)) assert.equal(after[name], hash, `${name} changed`);
    const rerun = await runCli(['--home', home, '--json', 'backup', 'create', '-o', out, '--type', 'incremental'], { env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(rerun.json.backup.type, 'incremental');
    assert.deepEqual((await fs.readdir(out)).filter((n) => n.includes('partial')), [], 'the dead run\'s partial files and staging are gone');
  });

  test('a chain restore killed after staging each link leaves the target as it was; the rerun restores the point', async () => {
    const [, newest] = await archives();
    const expected = await data(home);
    const target = path.join(dir, 'target');
    // The target holds other data, which a killed restore must leave alone.
    await fs.cp(path.join(dir, 'home'), target, { recursive: true });
    await churnHome({ home: target, seed: 9, env });
    const old = await data(target);
    for (const point of ['chain:0', 'chain:1']) {
      const killed = await runCli(['--home', target, '--json', 'backup', 'restore', path.join(out, newest!), '--no-safety-backup', '--force'], { env: { ...env, AICO_FAULT: point } });
      assert.notEqual(killed.code, 0, `killed at ${point}`);
      const now = await data(target);
      const changed = Object.keys({ ...now, ...old }).filter((p) => now[p] !== old[p]);
      assert.deepEqual(changed, [], `the target is unchanged after a kill at ${point}: ${killed.stderr.slice(-400)}`);
    }
    const rerun = await runCli(['--home', target, '--json', 'backup', 'restore', path.join(out, newest!), '--no-safety-backup', '--force'], { env });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await data(target), expected);
    assert.deepEqual((await fs.readdir(target)).filter((n) => n.startsWith('.aico-restore')), [], 'no staging left behind');
  });
});
