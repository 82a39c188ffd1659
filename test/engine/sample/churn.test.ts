import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { churnHome, deriveLibsqlKey, Keyring, seedSample, type ChurnResult } from '../../../src/engine/index.js';
import { chromaAdapter } from '../../../src/engine/sources/chroma.js';
import { openLibsql, tableCounts } from '../../../src/engine/sources/libsql-db.js';
import { lmdbAdapter } from '../../../src/engine/sources/lmdb.js';
import { runCli, tempDir } from '../../helpers.js';

const SEED = 9;

async function keyOf(home: string, masterKey: string): Promise<string> {
  return deriveLibsqlKey(Buffer.from(masterKey), await fs.readFile(path.join(home, 'data', 'aico.db.salt')));
}

/** Runs `fn` on the home's libSQL database, opened read-only with the sample's key. */
async function withDb<T>(home: string, masterKey: string, fn: (db: ReturnType<typeof openLibsql>) => T): Promise<T> {
  const db = openLibsql(path.join(home, 'data', 'aico.db'), await keyOf(home, masterKey), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/**
 * A digest of every row of the tables the churn writes. Leaves out created_at, which the seed
 * leaves to CURRENT_TIMESTAMP (the churn writes its own, from the row's timestamp).
 */
const TABLES = {
  logs: 'id, timestamp, level, subsystem, module, function_name, topic, message, user_id',
  events: 'id, timestamp, topic, source, message_type, message_id, data',
  scheduled_tasks: 'task_id, task_class, schedule, config, enabled, updated_at',
  users: 'uuid, full_name, nickname, updated_at',
};
const contents = (db: ReturnType<typeof openLibsql>) => {
  const hash = createHash('sha256');
  for (const [t, cols] of Object.entries(TABLES)) hash.update(JSON.stringify(db.prepare(`SELECT ${cols} FROM ${t} ORDER BY rowid`).raw().all()));
  return hash.digest('hex');
};

/** 4 KiB blocks of `after` whose SHA-256 differs from the same block of `before` (or that `before` lacks). */
function changedBlocks(before: Buffer, after: Buffer): { changed: number; total: number } {
  const hash = (b: Buffer, i: number) => createHash('sha256').update(b.subarray(i * 4096, (i + 1) * 4096)).digest('hex');
  const total = Math.ceil(after.length / 4096);
  let changed = 0;
  for (let i = 0; i < total; i++) if (i * 4096 >= before.length || hash(before, i) !== hash(after, i)) changed++;
  return { changed, total };
}

describe('demo churn', () => {
  const dir = tempDir('aico-churn-');
  const homes = [path.join(dir, 'a'), path.join(dir, 'b')];
  let masterKey = '';
  let seeded: Awaited<ReturnType<typeof seedSample>>;
  // A keyring that is never there, so the sample key comes from the env as in a headless run.
  const churn = (home: string) => churnHome({ home, seed: 5, percent: 1, keyring: new Keyring({}), env: { AICO_MASTER_KEY: masterKey } });

  before(async () => {
    seeded = (await Promise.all(homes.map((home) => seedSample({ home, sizeMb: 8, seed: SEED }))))[0]!;
    masterKey = seeded.masterKey;
  });

  test('changes what it says it changes, in a part of aico.db, and the same for the same seed', async () => {
    const [a, b] = homes as [string, string];
    const dbFile = path.join(a, 'data', 'aico.db');
    const bytesBefore = await fs.readFile(dbFile);
    const before = await withDb(a, masterKey, (db) => ({
      counts: tableCounts(db),
      messages: new Map((db.prepare('SELECT id, message FROM logs').raw().all() as [number, string][]).map(([id, m]) => [id, m])),
    }));

    const result: ChurnResult = await churn(a);
    assert.equal(result.percent, 1);
    assert.equal(result.libsql.logs_updated, Math.round(before.counts.logs! / 100));
    assert.ok(result.libsql.logs_appended >= 200 && result.libsql.events_appended >= 20);

    const after = await withDb(a, masterKey, (db) => ({
      counts: tableCounts(db),
      rewritten: (db.prepare('SELECT id, message FROM logs WHERE id <= ?').raw().all(before.messages.size) as [number, string][])
        .filter(([id, m]) => before.messages.get(id) !== m)
        .map(([id]) => id),
    }));
    assert.equal(after.counts.logs, before.counts.logs! + result.libsql.logs_appended);
    assert.equal(after.counts.events, before.counts.events! + result.libsql.events_appended);
    assert.equal(after.rewritten.length, result.libsql.logs_updated);
    // Scattered: the rewritten rows reach into both ends of the table.
    assert.ok(Math.min(...after.rewritten) < before.messages.size / 4 && Math.max(...after.rewritten) > (before.messages.size * 3) / 4);

    // Checkpointed: everything is in aico.db, and only part of it changed.
    assert.equal((await fs.stat(`${dbFile}-wal`).catch(() => null))?.size ?? 0, 0);
    const blocks = changedBlocks(bytesBefore, await fs.readFile(dbFile));
    assert.ok(blocks.changed > 0 && blocks.changed < blocks.total, `${blocks.changed} of ${blocks.total} blocks changed`);

    const chroma = await chromaAdapter.validate(path.join(a, 'data', 'memory', 'semantic'), { libsqlKey: null });
    assert.deepEqual(chroma.problems, []);
    const seededCollections = seeded.databases.chromadb!.collections as Record<string, number>;
    assert.ok(result.chromadb!.conversations_added >= 20 && result.chromadb!.facts_added > 0);
    assert.deepEqual(chroma.counts.collections, {
      conversations: seededCollections.conversations! + result.chromadb!.conversations_added,
      user_facts: seededCollections.user_facts! + result.chromadb!.facts_added,
    });

    const lmdb = await lmdbAdapter.validate(path.join(a, 'data', 'memory', 'working'), { libsqlKey: null });
    assert.equal(lmdb.ok, true, lmdb.problems.join('; '));
    assert.ok(result.lmdb!.rewritten >= 50);
    assert.equal(lmdb.counts.entries, (seeded.databases.lmdb!.entries as number) + result.lmdb!.added);
    assert.deepEqual(result.skipped, {});

    const again = await churn(b);
    assert.deepEqual({ ...again, home: a, duration_ms: 0 }, { ...result, duration_ms: 0 });
    assert.equal(await withDb(b, masterKey, contents), await withDb(a, masterKey, contents));
  });

  test('the CLI prints the result as JSON, and refuses a bad --percent or a home without AICO data', async () => {
    const env = { AICO_MASTER_KEY: masterKey, DBUS_SESSION_BUS_ADDRESS: undefined };
    const run = await runCli(['demo', 'churn', '--home', homes[1]!, '--json', '--percent', '0.5', '--seed', '2'], { env });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.json.ok, true);
    assert.equal(run.json.seed, 2);
    assert.equal(run.json.percent, 0.5);
    assert.ok(run.json.libsql.logs_updated > 0 && run.json.libsql.logs_appended >= 200);
    assert.ok(run.json.chromadb.conversations_added >= 20 && run.json.lmdb.added > 0);
    assert.equal(typeof run.json.duration_ms, 'number');

    for (const percent of ['0', '101', 'x']) {
      const bad = await runCli(['demo', 'churn', '--home', homes[1]!, '--json', '--percent', percent], { env });
      assert.equal(bad.code, 2);
      assert.equal(bad.json.error.code, 'USAGE');
    }
    const empty = await runCli(['demo', 'churn', '--home', path.join(dir, 'empty'), '--json'], { env });
    assert.equal(empty.code, 5);
    assert.equal(empty.json.error.code, 'NOT_FOUND');
    assert.ok(empty.json.error.hint);
  });
});
