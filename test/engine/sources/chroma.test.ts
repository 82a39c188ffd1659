import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import { ChromaClient } from 'chromadb';
import { isAicoError } from '../../../src/engine/errors.js';
import { Prng } from '../../../src/engine/sample/prng.js';
import { seedChroma, type SeedChromaResult } from '../../../src/engine/sample/seed-chroma.js';
import { chromaAdapter } from '../../../src/engine/sources/chroma.js';
import { startChroma } from '../../../src/engine/sources/chroma-server.js';
import { processesHolding } from '../../../src/engine/sources/in-use.js';
import type { SnapshotContext } from '../../../src/engine/sources/types.js';
import { tempDir, treeHashes } from '../../helpers.js';
import { alive } from './probes.js';

// Over Chroma's HNSW sync threshold (1000), so one segment has vectors persisted on disk.
const SEED = { seed: 42, conversations: 1200, facts: 150 };

// Created here, not in a hook: tempDir() registers its cleanup with the test it is called from.
const store = path.join(tempDir('aico-chroma-'), 'semantic');
let seeded: SeedChromaResult;

before(async () => {
  seeded = await seedChroma(store, SEED);
});

function context(location: string, over: Partial<SnapshotContext> = {}) {
  const warnings: { code: string; message: string }[] = [];
  const ctx: SnapshotContext = {
    home: path.dirname(location),
    location,
    staging: tempDir('aico-chroma-staging-'),
    allowLive: false,
    libsqlKey: null,
    warn: (code, message) => warnings.push({ code, message }),
    ...over,
  };
  return { ctx, warnings };
}

async function copyOf(dir: string): Promise<string> {
  const dest = path.join(tempDir('aico-chroma-copy-'), 'semantic');
  await fs.cp(dir, dest, { recursive: true });
  return dest;
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Pids of processes started with `--path dir`, i.e. Chroma servers for dir, found through /proc. */
async function serversFor(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of (await fs.readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(`--path\0${dir}\0`)) pids.push(Number(pid));
  }
  return pids;
}

/** A process other than a Chroma server holding chroma.sqlite3 open, as AICO's would. */
async function holdOpen(file: string): Promise<ChildProcess> {
  const child = spawn('bash', ['-c', 'exec 3<"$1"; sleep 30', 'holder', file], { stdio: 'ignore' });
  await until('the holder to open the file', async () => (await processesHolding(path.dirname(file)))?.some((h) => h.pid === child.pid) ?? false);
  return child;
}

/** The HNSW segment with vectors on disk (conversations): its data file and what its header.bin says. */
async function persistedIndex(dir: string) {
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const header = await fs.readFile(path.join(dir, e.name, 'header.bin'));
    const count = Number(header.readBigUInt64LE(20));
    if (count > 0) return { file: path.join(dir, e.name, 'data_level0.bin'), count, recordSize: Number(header.readBigUInt64LE(28)) };
  }
  return assert.fail('no HNSW segment with persisted vectors');
}

/** Page numbers on the SQLite freelist (trunk pages and the leaves they list). */
function freePages(db: Buffer, pageSize: number): Set<number> {
  const free = new Set<number>();
  for (let trunk = db.readUInt32BE(32); trunk !== 0; trunk = db.readUInt32BE((trunk - 1) * pageSize)) {
    const at = (trunk - 1) * pageSize;
    free.add(trunk);
    for (let i = 0; i < db.readUInt32BE(at + 4); i++) free.add(db.readUInt32BE(at + 8 + 4 * i));
  }
  return free;
}

/** Overwrites the free (or in-use) page nearest the middle of the file with PRNG bytes. */
async function overwritePage(file: string, free: boolean): Promise<void> {
  const db = await fs.readFile(file);
  const pageSize = db.readUInt16BE(16) === 1 ? 65536 : db.readUInt16BE(16);
  const freeSet = freePages(db, pageSize);
  const pages = db.length / pageSize;
  const middle = Math.floor(pages / 2);
  let page = 0;
  for (let d = 0; d < pages && !page; d++) {
    for (const p of [middle - d, middle + d]) if (p > 1 && p <= pages && freeSet.has(p) === free) page = p;
  }
  assert.ok(page, `no ${free ? 'free' : 'in-use'} page`);
  const rng = new Prng(99);
  db.set(Array.from({ length: pageSize }, () => rng.int(256)), (page - 1) * pageSize);
  await fs.writeFile(file, db);
}

/** Every record through the public API, sorted by id. */
async function dump(dir: string) {
  const server = await startChroma(dir);
  try {
    const client = new ChromaClient({ host: '127.0.0.1', port: server.port, ssl: false });
    const out: Record<string, unknown> = {};
    for (const collection of await client.listCollections()) {
      const got = await collection.get({ include: ['embeddings', 'documents', 'metadatas'] });
      out[collection.name] = got.ids
        .map((id, i) => ({ id, document: got.documents[i], metadata: got.metadatas[i], embedding: got.embeddings[i] }))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
    }
    return out;
  } finally {
    await server.stop();
  }
}

describe('seedChroma', () => {
  test('reports the counts the server holds, with 768-dim unit vectors', async () => {
    assert.deepEqual(seeded.collections, { conversations: SEED.conversations, user_facts: SEED.facts });
    assert.ok(seeded.bytes > 1_000_000, `store is ${seeded.bytes} bytes`);
  });

  test('is deterministic: same seed, same records; other seed, other records', async () => {
    const opts = { seed: 7, conversations: 30, facts: 10 };
    const [a, b, c] = [tempDir(), tempDir(), tempDir()];
    await Promise.all([seedChroma(a, opts), seedChroma(b, opts), seedChroma(c, { ...opts, seed: 8 })]);
    const [da, db, dc] = await Promise.all([dump(a), dump(b), dump(c)]);
    const conv = da.conversations as { id: string; metadata: Record<string, unknown>; embedding: number[]; document: string }[];
    assert.equal(conv.length, 30);
    assert.deepEqual(Object.keys(conv[0]!.metadata).sort(), ['role', 'session_id', 'timestamp', 'user_id']);
    assert.equal(conv[0]!.embedding.length, 768);
    assert.ok(Math.abs(Math.hypot(...conv[0]!.embedding) - 1) < 1e-4);
    assert.deepEqual(Object.keys((da.user_facts as { metadata: object }[])[0]!.metadata).sort(), ['category', 'confidence', 'user_id']);
    assert.deepEqual(da, db);
    assert.notDeepEqual(da, dc);
  });
});

describe('chromaAdapter', () => {
  test('detects a persist directory by its chroma.sqlite3', async () => {
    assert.equal(await chromaAdapter.detect(store), true);
    assert.equal(await chromaAdapter.detect(tempDir()), false);
    assert.equal(await chromaAdapter.detect(path.join(store, 'chroma.sqlite3')), false);
  });

  test('snapshots a stopped store byte for byte, and the copy validates with the seeded counts', async () => {
    const before = await treeHashes(store);
    const { ctx, warnings } = context(store);
    const snap = await chromaAdapter.snapshot(ctx);
    assert.deepEqual(warnings, []);
    assert.equal(snap.stats.method, 'stopped-copy');
    assert.equal(snap.stats.consistent, true);
    assert.equal(snap.stats.encrypted, false);
    assert.deepEqual(snap.stats.collections, seeded.collections);

    const rels = snap.files.map((f) => f.relPath).sort();
    assert.deepEqual(rels, Object.keys(before).sort());
    assert.ok(rels.some((r) => /^[0-9a-f-]{36}\/data_level0\.bin$/.test(r)), rels.join(', '));
    for (const f of snap.files) assert.equal(f.absPath, path.join(ctx.staging, ...f.relPath.split('/')));
    assert.deepEqual(await treeHashes(ctx.staging), before);
    assert.deepEqual(await treeHashes(store), before, 'the snapshot changed the source');

    const result = await chromaAdapter.validate(ctx.staging, { libsqlKey: null });
    assert.deepEqual(result.problems, []);
    assert.equal(result.ok, true);
    assert.deepEqual(result.counts.collections, seeded.collections);
    assert.deepEqual(await treeHashes(ctx.staging), before, 'validation changed the copy it validated');
    assert.deepEqual((await fs.readdir(path.dirname(ctx.staging))).filter((n) => n.startsWith('.chroma-validate-')), [], 'validation left its throwaway copy');
  });

  test('refuses a store another process holds open, naming it; --allow-live copies it marked inconsistent', async () => {
    const holder = await holdOpen(path.join(store, 'chroma.sqlite3'));
    try {
      const { ctx } = context(store);
      await assert.rejects(chromaAdapter.snapshot(ctx), (error: unknown) => {
        assert.ok(isAicoError(error, 'DATABASE_IN_USE'), String(error));
        assert.match(error.message, new RegExp(`\\(pid ${holder.pid}\\)`));
        assert.equal(error.details?.pid, holder.pid);
        assert.match(String(error.details?.command), /sleep|bash/);
        assert.match(error.hint ?? '', /--allow-live/);
        return true;
      });
      assert.deepEqual(await fs.readdir(ctx.staging), [], 'a refused snapshot copied files');

      const live = context(store, { allowLive: true });
      const snap = await chromaAdapter.snapshot(live.ctx);
      assert.equal(snap.stats.consistent, false);
      assert.equal(snap.stats.method, 'live-copy');
      assert.deepEqual(live.warnings.map((w) => w.code), ['LIVE_COPY']);
      assert.match(live.warnings[0]!.message, new RegExp(`pid ${holder.pid}`));
      assert.deepEqual(snap.stats.collections, seeded.collections);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('refuses a store a running Chroma server has open', async () => {
    const dir = await copyOf(store);
    const server = await startChroma(dir);
    try {
      const { ctx } = context(dir);
      await assert.rejects(chromaAdapter.snapshot(ctx), (error: unknown) => isAicoError(error, 'DATABASE_IN_USE') && error.details?.pid === server.pid);
    } finally {
      await server.stop();
    }
    assert.equal(alive(server.pid), false);
    const { ctx } = context(dir);
    assert.equal((await chromaAdapter.snapshot(ctx)).stats.consistent, true);
  });

  test('counts through the server when the last writes were logged but not applied', async () => {
    const dir = await copyOf(store);
    // What a server killed between logging a write and applying it leaves behind: the metadata segment lags its log.
    const db = createClient({ url: `file:${path.join(dir, 'chroma.sqlite3')}` });
    try {
      const seg = `(SELECT s.id FROM segments s JOIN collections c ON c.id = s.collection WHERE c.name = 'user_facts' AND s.scope = 'METADATA')`;
      const top = Number((await db.execute(`SELECT seq_id FROM max_seq_id WHERE segment_id = ${seg}`)).rows[0]!.seq_id);
      await db.execute(`DELETE FROM embedding_metadata WHERE id IN (SELECT id FROM embeddings WHERE segment_id = ${seg} AND seq_id > ${top - 10})`);
      await db.execute(`DELETE FROM embeddings WHERE segment_id = ${seg} AND seq_id > ${top - 10}`);
      await db.execute(`UPDATE max_seq_id SET seq_id = ${top - 10} WHERE segment_id = ${seg}`);
      assert.equal(Number((await db.execute(`SELECT count(*) AS n FROM embeddings WHERE segment_id = ${seg}`)).rows[0]!.n), SEED.facts - 10);
    } finally {
      db.close();
    }
    const { ctx } = context(dir);
    const snap = await chromaAdapter.snapshot(ctx);
    assert.deepEqual(snap.stats.collections, seeded.collections);
  });

  describe('validate rejects damaged copies', () => {
    const staged = tempDir('aico-chroma-staged-');
    before(() => chromaAdapter.snapshot(context(store, { staging: staged }).ctx));

    async function damaged(damage: (dir: string) => Promise<void>) {
      const dir = await copyOf(staged);
      await damage(dir);
      const result = await chromaAdapter.validate(dir, { libsqlKey: null });
      assert.equal(result.ok, false, 'damage went unnoticed');
      assert.ok(result.problems.length > 0);
      assert.doesNotMatch(result.problems.join('\n'), /chroma-validate-/, 'a problem names the throwaway copy, not the store');
      // Reported by what the damage does, not by a server that hung until a time limit (no wall-clock bound: the machine may be busy).
      assert.doesNotMatch(result.problems.join('\n'), /did not answer within|timed? ?out/i);
      return result.problems.join('\n');
    }

    test('chroma.sqlite3 truncated to half', async () => {
      const problems = await damaged(async (dir) => {
        const file = path.join(dir, 'chroma.sqlite3');
        await fs.truncate(file, Math.floor((await fs.stat(file)).size / 2));
      });
      assert.match(problems, /chroma\.sqlite3|malformed/);
    });

    test('4 KiB of random bytes over the in-use page nearest the middle of chroma.sqlite3', async () => {
      const problems = await damaged((dir) => overwritePage(path.join(dir, 'chroma.sqlite3'), false));
      assert.match(problems, /integrity|malformed|cannot be read/);
    });

    test('random bytes over a free page are no damage: SQLite never reads it', async () => {
      // After seeding, Chroma has purged its applied log, so a large part of the file is free pages.
      const dir = await copyOf(staged);
      await overwritePage(path.join(dir, 'chroma.sqlite3'), true);
      const result = await chromaAdapter.validate(dir, { libsqlKey: null });
      assert.deepEqual(result.problems, []);
      assert.deepEqual(result.counts.collections, seeded.collections);
    });

    test('an HNSW data_level0.bin cut short of the vectors its header lists', async () => {
      const problems = await damaged(async (dir) => {
        const { file, count, recordSize } = await persistedIndex(dir);
        await fs.truncate(file, Math.floor(count / 2) * recordSize);
      });
      assert.match(problems, /data_level0\.bin is \d+ bytes, too short for the 1024 vectors/);
    });

    test('losing only the preallocated, unused tail of data_level0.bin loses nothing', async () => {
      const dir = await copyOf(staged);
      const { file, count, recordSize } = await persistedIndex(dir);
      assert.ok((await fs.stat(file)).size > count * recordSize, 'expected a preallocated tail');
      await fs.truncate(file, count * recordSize);
      const result = await chromaAdapter.validate(dir, { libsqlKey: null });
      assert.deepEqual(result.problems, []);
      assert.deepEqual(result.counts.collections, seeded.collections);
    });

    test('a store without chroma.sqlite3', async () => {
      const problems = await damaged((dir) => fs.rm(path.join(dir, 'chroma.sqlite3')));
      assert.match(problems, /chroma\.sqlite3 is missing/);
    });
  });
});

describe('startChroma', () => {
  test('stop() ends the server and an aborted signal stops it too', async () => {
    const dir = tempDir();
    const server = await startChroma(dir);
    const beat = await fetch(`${server.url}/api/v2/heartbeat`);
    assert.equal(beat.ok, true);
    await server.stop();
    assert.equal(alive(server.pid), false);

    const controller = new AbortController();
    const second = await startChroma(dir, { signal: controller.signal });
    controller.abort();
    await until('the aborted server to exit', () => !alive(second.pid));
    await second.stop();
    assert.deepEqual(await serversFor(dir), []);
  });

  test('a server that cannot start is reported with its own words and leaves nothing running', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    await assert.rejects(startChroma(file), (error: unknown) => {
      assert.ok(isAicoError(error, 'DATABASE_INVALID'), String(error));
      assert.match(error.message, /exited during startup[\s\S]*File exists/);
      return true;
    });
    assert.deepEqual(await serversFor(file), []);
  });

  test('an abort during startup cancels it', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const dir = tempDir();
    await assert.rejects(startChroma(dir, { signal: controller.signal }), (error: unknown) => isAicoError(error, 'CANCELLED'));
    assert.deepEqual(await serversFor(dir), []);
  });
});
