import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { churnHome, consolidate, create, deleteBackups, list, restore, seedSample, verify, type CreateOptions, type CreateResult } from '../../../src/engine/index.js';
import { readBlockIndexOf } from '../../../src/engine/archive/block-index.js';
import { libsqlKeyFor } from '../../../src/engine/keys/libsql-key.js';
import { applyAicoSettings, openLibsql } from '../../../src/engine/sources/libsql-db.js';
import { tempDir, treeHashes } from '../../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');
const out = path.join(dir, 'out');
let env: NodeJS.ProcessEnv;
const password = async () => Buffer.from('chain-pw');

const baseOptions = (over: Partial<CreateOptions> = {}): CreateOptions => ({
  home, outputDir: out, encrypt: true, password, compression: 'zstd', compressionLevel: 3,
  include: ['libsql', 'chromadb', 'working', 'config'], exclude: [], kdfIterations: 1000, env, ...over,
});

/** A day of AICO in short: log rows appended at the end, some updated at scattered places, checkpointed. */
async function useAico(rows: number, everyNth: number): Promise<void> {
  const { key } = await libsqlKeyFor(home, Buffer.from(env.AICO_MASTER_KEY!), { env });
  const db = openLibsql(path.join(home, 'data', 'aico.db'), key!);
  try {
    applyAicoSettings(db);
    db.transaction(() => {
      const insert = db.prepare("INSERT INTO logs (timestamp, level, subsystem, module, topic, message) VALUES (?, 'INFO', 'backend', 'memory', 'logs/memory', ?)");
      for (let i = 0; i < rows; i++) insert.run(new Date(1.8e12 + i).toISOString(), `row ${i} of a later day`);
      db.prepare('UPDATE logs SET message = message || ? WHERE id % ? = 0').run(' (edited)', everyNth);
    })();
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/**
 * What a restore brings back of the home: its data and config, not LMDB's lock file, the sample marker, or
 * SQLite's -wal/-shm (the WAL is folded into the restored database, whose bytes are compared; a libSQL
 * connection of this process is closed only when it is garbage collected, and SQLite removes them then).
 */
async function restorable(root: string): Promise<Record<string, string>> {
  return treeHashes(root, /lock\.mdb$|\.aico-sample$|-shm$|-wal$|^\.aico|^data\/logs\/backup-audit/);
}

const points: { backup: CreateResult['backup']; tree: Record<string, string> }[] = [];

async function point(over: Partial<CreateOptions>): Promise<CreateResult['backup']> {
  const { backup } = await create(baseOptions(over));
  points.push({ backup, tree: await restorable(home) });
  return backup;
}

before(async () => {
  const seeded = await seedSample({ home, sizeMb: 6, seed: 21 });
  env = { AICO_MASTER_KEY: seeded.masterKey, DBUS_SESSION_BUS_ADDRESS: undefined };
});

describe('incremental and differential chains', () => {
  test('full, two incrementals and a differential: each names its parent and stores only what changed', async () => {
    const full = await point({});
    // A day of use: rows appended to libSQL, records to Chroma, LMDB entries rewritten and added.
    await churnHome({ home, seed: 1, env });
    const first = await point({ backupType: 'incremental' });
    await churnHome({ home, seed: 2, percent: 2, env });
    await fs.writeFile(path.join(home, 'config', 'later.yaml'), 'added: after the first incremental\n');
    const second = await point({ backupType: 'incremental' });
    await useAico(100, 97);
    const diff = await point({ backupType: 'differential' });

    assert.deepEqual(
      [full, first, second, diff].map((b) => [b.type, b.parent_id, b.chain_length]),
      [['full', null, 0], ['incremental', full.id, 1], ['incremental', first.id, 2], ['differential', full.id, 1]],
    );
    for (const b of [first, second, diff]) {
      assert.ok(b.stored_bytes > 0 && b.stored_bytes < b.data_bytes / 4, `${b.type} stored ${b.stored_bytes} of ${b.data_bytes}`);
      assert.ok(b.bytes < full.bytes / 2, `${b.type} archive ${b.bytes} bytes vs full ${full.bytes}`);
    }
    // The churn changed every database, and each is stored as changed blocks, not whole.
    const { manifest } = await readBlockIndexOf(first.path, password);
    for (const source of ['libsql', 'chromadb', 'lmdb']) {
      assert.ok(manifest.files.some((f) => f.source === source && f.stored === 'blocks'), `${source}: ${JSON.stringify(manifest.files.filter((f) => f.source === source).map((f) => [f.path, f.stored]))}`);
    }
    assert.ok(manifest.files.some((f) => f.stored === 'parent'), 'unchanged files are left in the parent');
    // A differential holds everything since the full: at least what the first incremental held.
    assert.ok(diff.stored_bytes >= first.stored_bytes);

    const listed = (await list({ dir: out })).backups;
    assert.deepEqual(
      listed.map((b) => [b.type, b.parent_name, b.chain_intact]),
      [['differential', path.basename(full.path), true], ['incremental', path.basename(first.path), true], ['incremental', path.basename(full.path), true], ['full', null, null]],
    );
  });

  test('every delta restore point restores byte for byte what the home held at its time, every database validated', async () => {
    assert.equal(points.length, 4);
    // The full backup's restore is what every other restore test does; here the three deltas.
    for (const [i, p] of points.entries()) {
      if (i === 0) continue;
      const target = path.join(dir, `restored-${i}`);
      const r = await restore({ path: p.backup.path, home, target, password, safetyBackupDir: null, env });
      assert.ok(r.units.every((u) => u.name === 'config' || u.validation?.ok), `${p.backup.type}: ${JSON.stringify(r.units)}`);
      assert.deepEqual(await restorable(target), p.tree, `${p.backup.type} ${path.basename(p.backup.path)}`);
    }
  });

  test('verify of the newest incremental verifies its whole chain', async () => {
    const v = await verify({ path: points[2]!.backup.path, password });
    assert.equal(v.ok, true, JSON.stringify(v.problems));
    assert.deepEqual(v.chain.map((l) => [path.basename(l.path), l.ok]), [[path.basename(points[1]!.backup.path), true], [path.basename(points[0]!.backup.path), true]]);
  });

  test('--database and --config-only restore from any point of the chain', async () => {
    const target = path.join(dir, 'only-libsql');
    await restore({ path: points[2]!.backup.path, home, target, password, safetyBackupDir: null, env, databases: ['libsql'] });
    const tree = await restorable(target);
    assert.deepEqual(Object.keys(tree).sort(), ['data/aico.db', 'data/aico.db.salt']);
    assert.equal(tree['data/aico.db'], points[2]!.tree['data/aico.db']);
    const config = path.join(dir, 'only-config');
    await restore({ path: points[2]!.backup.path, home, target: config, password, safetyBackupDir: null, env, configOnly: true });
    assert.equal(await fs.readFile(path.join(config, 'config', 'later.yaml'), 'utf8'), 'added: after the first incremental\n');
  });
});

describe('consolidating and deleting', () => {
  test('consolidate writes a full backup of a restore point that restores the same home; the chain is untouched', async () => {
    const before = await treeHashes(out);
    const r = await consolidate({ path: points[2]!.backup.path, password, kdfIterations: 1000 });
    assert.deepEqual(r.from.map((l) => l.id), [points[2]!.backup.id, points[1]!.backup.id, points[0]!.backup.id]);
    const after = await treeHashes(out);
    for (const [name, hash] of Object.entries(before)) assert.equal(after[name], hash, `${name} was changed`);
    assert.deepEqual(Object.keys(after).filter((n) => !(n in before)), [path.basename(r.backup.path)]);
    const v = await verify({ path: r.backup.path, password });
    assert.deepEqual([v.ok, v.chain], [true, []]);
    const listed = (await list({ dir: out })).backups.find((b) => b.path === r.backup.path)!;
    assert.deepEqual([listed.type, listed.created, listed.format_version], ['full', points[2]!.backup.created, 1]);
    const target = path.join(dir, 'from-consolidated');
    await restore({ path: r.backup.path, home, target, password, safetyBackupDir: null, env });
    assert.deepEqual(await restorable(target), points[2]!.tree);
    await fs.rm(r.backup.path);
  });

  test('delete refuses a backup others build on and names them; the whole chain goes together', async () => {
    const copy = path.join(dir, 'delete-copy');
    await fs.cp(out, copy, { recursive: true });
    const at = (i: number) => path.join(copy, path.basename(points[i]!.backup.path));
    await assert.rejects(deleteBackups({ paths: [at(1)] }), (e: any) => {
      assert.equal(e.code, 'HAS_DEPENDENTS');
      assert.equal(e.exitCode, 16);
      assert.deepEqual(e.details.dependents, [path.basename(at(2))]);
      return true;
    });
    await assert.rejects(deleteBackups({ paths: [at(0)], dryRun: true }), (e: any) => e.code === 'HAS_DEPENDENTS' && e.details.dependents.length === 3);
    assert.equal((await fs.readdir(copy)).filter((n) => n.startsWith('aico-backup-')).length, 4, 'nothing was deleted');
    const r = await deleteBackups({ paths: [at(2), at(1)] });
    assert.equal(r.backups.length, 2);
  });
});

describe('a chain with a link missing or damaged', () => {
  const copyOut = async (name: string) => {
    const to = path.join(dir, name);
    await fs.cp(out, to, { recursive: true });
    return to;
  };
  const inCopy = (copy: string, i: number) => path.join(copy, path.basename(points[i]!.backup.path));

  test('missing: restore and verify refuse with CHAIN_BROKEN, name the missing backup and the points still intact; nothing is written', async () => {
    const copy = await copyOut('missing');
    await fs.rm(inCopy(copy, 1));
    const target = path.join(dir, 'not-written');
    for (const run of [
      () => restore({ path: inCopy(copy, 2), home, target, password, safetyBackupDir: null, env }),
      () => verify({ path: inCopy(copy, 2), password }),
    ]) {
      await assert.rejects(run(), (e: any) => {
        assert.equal(e.code, 'CHAIN_BROKEN', e.message);
        assert.equal(e.exitCode, 15);
        assert.match(e.message, new RegExp(`builds on ${path.basename(points[1]!.backup.path).replace(/\./g, '\\.')}.*which is not in`));
        assert.match(e.hint, new RegExp(path.basename(points[0]!.backup.path).replace(/\./g, '\\.')));
        assert.match(e.hint, new RegExp(path.basename(points[3]!.backup.path).replace(/\./g, '\\.')), 'the differential does not need it');
        return true;
      });
    }
    await assert.rejects(fs.stat(target), { code: 'ENOENT' });
    const listed = (await list({ dir: copy })).backups.find((b) => b.id === points[2]!.backup.id)!;
    assert.equal(listed.chain_intact, false);
  });

  test('truncated: CHAIN_BROKEN before anything is staged', async () => {
    const copy = await copyOut('truncated');
    const file = inCopy(copy, 1);
    await fs.truncate(file, (await fs.stat(file)).size - 100);
    const target = path.join(dir, 'not-written-2');
    await assert.rejects(restore({ path: inCopy(copy, 2), home, target, password, safetyBackupDir: null, env }), (e: any) =>
      e.code === 'CHAIN_BROKEN' && /cannot be read/.test(e.message) && e.message.includes(path.basename(file)),
    );
    await assert.rejects(fs.stat(target), { code: 'ENOENT' });
  });

  test('a byte changed inside the full backup: the restore fails naming it (when the chain is opened or read), the target is not created', async () => {
    const copy = await copyOut('tampered');
    const file = inCopy(copy, 0);
    const handle = await fs.open(file, 'r+');
    const at = Math.floor((await handle.stat()).size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0]! ^= 0x40;
    await handle.write(byte, 0, 1, at);
    await handle.close();
    const target = path.join(dir, 'not-written-3');
    await assert.rejects(restore({ path: inCopy(copy, 2), home, target, password, safetyBackupDir: null, env }), (e: any) => {
      assert.ok(['CORRUPT_ARCHIVE', 'CHAIN_BROKEN'].includes(e.code), e.message);
      assert.ok(e.message.includes(path.basename(file)), e.message);
      return true;
    });
    await assert.rejects(fs.stat(target), { code: 'ENOENT' });
  });
});

describe('finding the parent', () => {
  // libSQL alone is enough to tell parents apart, and quicker than the whole home.
  const options = (over: Partial<CreateOptions> = {}) => baseOptions({ include: ['libsql', 'config'], ...over });
  test('nothing to build on: NO_PARENT (exit 14), nothing written; --type auto makes a full backup and says why', async () => {
    const empty = path.join(dir, 'empty-out');
    await assert.rejects(create(options({ outputDir: empty, backupType: 'incremental' })), (e: any) => e.code === 'NO_PARENT' && e.exitCode === 14 && /--type auto/.test(e.hint));
    assert.deepEqual(await fs.readdir(empty).catch(() => []), []);
    const r = await create(options({ outputDir: empty, backupType: 'auto' }));
    assert.equal(r.backup.type, 'full');
    assert.ok(r.warnings.some((w) => w.code === 'FULL_INSTEAD' && /No backup of/.test(w.message)));
    const again = await create(options({ outputDir: empty, backupType: 'auto' }));
    assert.deepEqual([again.backup.type, again.backup.parent_id], ['incremental', r.backup.id]);
  });

  test('another password, another home, a chain at its limit: refused with a reason; auto falls back to a full backup', async () => {
    const mine = path.join(dir, 'rules-out');
    const full = await create(options({ outputDir: mine }));
    await assert.rejects(create(options({ outputDir: mine, backupType: 'incremental', password: async () => Buffer.from('other') })), (e: any) =>
      e.code === 'PARENT_MISMATCH' && /does not open with this password/.test(e.message),
    );
    // A chain is encrypted throughout or not at all: an encrypted backup is passed over, and refused when named.
    await assert.rejects(create(options({ outputDir: mine, backupType: 'incremental', encrypt: false })), (e: any) => e.code === 'NO_PARENT' && /passed over: .*\(encrypted\)/.test(e.message));
    await assert.rejects(create(options({ outputDir: mine, backupType: 'incremental', encrypt: false, parent: full.backup.path })), (e: any) => e.code === 'PARENT_MISMATCH' && /is encrypted and this backup is not/.test(e.message));

    // A backup of another home in the same directory is passed over, and refused when named.
    const other = path.join(dir, 'other-home');
    await fs.mkdir(path.join(other, 'config'), { recursive: true });
    await fs.writeFile(path.join(other, 'config', 'core.yaml'), 'core: {}\n');
    const theirs = await create(options({ outputDir: mine, home: other, include: ['config'] }));
    const next = await create(options({ outputDir: mine, backupType: 'incremental' }));
    assert.equal(next.backup.parent_id, full.backup.id);
    await assert.rejects(create(options({ outputDir: mine, backupType: 'incremental', parent: theirs.backup.path })), (e: any) => e.code === 'PARENT_MISMATCH' && /is a backup of/.test(e.message));

    await assert.rejects(create(options({ outputDir: mine, backupType: 'incremental', maxChain: 1 })), (e: any) => e.code === 'CHAIN_TOO_LONG' && /link 2 of its chain; the limit is 1/.test(e.message));
    const fallback = await create(options({ outputDir: mine, backupType: 'auto', maxChain: 1 }));
    assert.equal(fallback.backup.type, 'full');
    assert.ok(fallback.warnings.some((w) => w.code === 'FULL_INSTEAD'));
  });

  test('a cut-off copy of the newest backup is passed over with PARENT_SKIPPED (seen from its header); the one before it is the parent', async () => {
    const cut = path.join(dir, 'cut-out');
    const older = await create(options({ outputDir: cut }));
    const newer = await create(options({ outputDir: cut }));
    const bytes = await fs.readFile(newer.backup.path);
    await fs.writeFile(newer.backup.path, bytes.subarray(0, bytes.length - 10));
    const inc = await create(options({ outputDir: cut, backupType: 'incremental' }));
    assert.equal(inc.backup.parent_id, older.backup.id);
    assert.ok(inc.warnings.some((w) => w.code === 'PARENT_SKIPPED' && w.message.includes(path.basename(newer.backup.path)) && /truncated \(10 bytes are missing\)/.test(w.message)), JSON.stringify(inc.warnings));
  });

  test('a chain across a VACUUM: pages move, so the incremental stores more, and the restore is still exact', async () => {
    const vac = path.join(dir, 'vacuum-out');
    await create(options({ outputDir: vac }));
    await useAico(200, 3);
    const small = await create(options({ outputDir: vac, backupType: 'incremental' }));
    const { key } = await libsqlKeyFor(home, Buffer.from(env.AICO_MASTER_KEY!), { env });
    const db = openLibsql(path.join(home, 'data', 'aico.db'), key!);
    try {
      applyAicoSettings(db);
      db.exec('DELETE FROM logs WHERE id % 5 = 0');
      db.exec('VACUUM');
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    const big = await create(options({ outputDir: vac, backupType: 'incremental' }));
    assert.ok(big.backup.stored_bytes > small.backup.stored_bytes, `after VACUUM ${big.backup.stored_bytes} bytes, before ${small.backup.stored_bytes}`);
    const target = path.join(dir, 'after-vacuum');
    await restore({ path: big.backup.path, home, target, password, safetyBackupDir: null, env, databases: ['libsql'] });
    const want = await restorable(home);
    const got = await restorable(target);
    assert.equal(got['data/aico.db'], want['data/aico.db']);
  });

  test('an unencrypted delta opens with the standard tools: changed blocks sit under blocks/, never under the file name', async () => {
    const plain = path.join(dir, 'plain-out');
    await create(options({ outputDir: plain, encrypt: false, password: undefined }));
    await useAico(50, 1000);
    const r = await create(options({ outputDir: plain, encrypt: false, password: undefined, backupType: 'incremental' }));
    const names = execFileSync('bash', ['-c', 'zstd -dc "$1" | tar -t', 'x', r.backup.path], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(names.includes('blocks/databases/aico.db'), names.join(' '));
    assert.ok(!names.includes('databases/aico.db'));
    assert.ok(!names.some((n) => n.startsWith('databases/semantic/')), 'unchanged Chroma files are not stored again');
    const v = await verify({ path: r.backup.path });
    assert.deepEqual([v.ok, v.chain.length], [true, 1]);
  });
});
