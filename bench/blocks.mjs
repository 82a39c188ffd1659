// 4 KiB block hashes of the files a backup covers, and byte-for-byte tree
// comparison, for the incremental section (incremental.mjs). Each call runs in
// a worker thread of its own, so the hashing never shares this process's event
// loop, and the section only calls it between timed commands, never during one.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export const BLOCK = 4096;
const HASH = 32;
const CHUNK = 1 << 20;

/** Regular files under dir (relative to root, with '/'), recursively, sorted; [] when dir is missing. */
function filesUnder(root, dir) {
  let entries;
  try {
    entries = readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true });
  } catch (error) {
    if (error.code === 'ENOENT') return [];
    throw error;
  }
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)).split(path.sep).join('/'))
    .sort();
}

/**
 * What `aico backup create` reads of a sample home (src/engine/home/layout.ts): the libSQL
 * file with its salt and WAL, Chroma's directory, LMDB's data.mdb (lock.mdb holds reader
 * slots, not data, and is never archived) and config/.
 */
export function coveredFiles(home) {
  const exists = (rel) => {
    try {
      return statSync(path.join(home, rel)).isFile();
    } catch {
      return false;
    }
  };
  return [
    ...['data/aico.db', 'data/aico.db.salt', 'data/aico.db-wal'].filter(exists),
    ...filesUnder(home, 'data/memory/semantic'),
    ...['data/memory/working/data.mdb'].filter(exists),
    ...filesUnder(home, 'config'),
  ];
}

/** Reads up to buf.length bytes at pos, looping over short reads; the count read (less only at the end). */
function readFully(fd, buf, pos) {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function hashFile(file) {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    const parts = [];
    let size = 0;
    for (;;) {
      const n = readFully(fd, buf, size);
      if (n === 0) break;
      const out = Buffer.alloc(Math.ceil(n / BLOCK) * HASH);
      for (let o = 0, i = 0; o < n; o += BLOCK, i++) {
        createHash('sha256').update(buf.subarray(o, Math.min(o + BLOCK, n))).digest().copy(out, i * HASH);
      }
      parts.push(out);
      size += n;
      if (n < CHUNK) break;
    }
    return { size, hashes: Buffer.concat(parts) };
  } finally {
    closeSync(fd);
  }
}

/** Both trees' regular files (but `ignore`d names) compared byte for byte. */
function compareTrees(a, b, ignore) {
  const keep = (rel) => !ignore.some((x) => rel === x || rel.endsWith(`/${x}`));
  const left = filesUnder(a, '.').filter(keep);
  const right = new Set(filesUnder(b, '.').filter(keep));
  const differences = [];
  for (const rel of left) if (!right.has(rel)) differences.push(`${rel}: only in ${a}`);
  for (const rel of right) if (!left.includes(rel)) differences.push(`${rel}: only in ${b}`);
  const ba = Buffer.allocUnsafe(CHUNK);
  const bb = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  let files = 0;
  for (const rel of left.filter((r) => right.has(r))) {
    const fa = openSync(path.join(a, rel), 'r');
    const fb = openSync(path.join(b, rel), 'r');
    try {
      for (let pos = 0; ; pos += CHUNK) {
        const na = readFully(fa, ba, pos);
        const nb = readFully(fb, bb, pos);
        if (na !== nb || !ba.subarray(0, na).equals(bb.subarray(0, nb))) {
          differences.push(`${rel}: differs at or after byte ${pos}${na !== nb ? ' (sizes differ)' : ''}`);
          break;
        }
        bytes += na;
        if (na < CHUNK) break;
      }
      files++;
    } finally {
      closeSync(fa);
      closeSync(fb);
    }
  }
  return { files, bytes, differences };
}

function inWorker(job) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`block worker exited with ${code}`)));
  });
}

/** { rel: { size, hashes } } for every covered file of the home: hashes holds 32 bytes per 4 KiB block. */
export async function blockHashes(home) {
  const files = await inWorker({ op: 'hash', home });
  for (const f of Object.values(files)) f.hashes = Buffer.from(f.hashes.buffer, f.hashes.byteOffset, f.hashes.byteLength);
  return files;
}

/** { files, bytes, differences[] }: every regular file of both trees, apart from `ignore`d names, byte for byte. */
export const sameTrees = (a, b, ignore = []) => inWorker({ op: 'compare', a, b, ignore });

/**
 * The changed-block floor between two states: per file, the blocks whose hash differs at
 * the same index, the blocks past the old end, and every block of a file that is new.
 * Files gone in `after` count nothing (an incremental stores no blocks for them).
 */
export function changedBlocks(before, after) {
  const files = {};
  let blocks = 0;
  for (const [rel, now] of Object.entries(after)) {
    const was = before[rel];
    const count = now.hashes.length / HASH;
    const old = was ? was.hashes.length / HASH : 0;
    let differ = 0;
    for (let i = 0; i < Math.min(count, old); i++) {
      if (now.hashes.compare(was.hashes, i * HASH, (i + 1) * HASH, i * HASH, (i + 1) * HASH) !== 0) differ++;
    }
    const past = was ? Math.max(0, count - old) : 0;
    const fresh = was ? 0 : count;
    files[rel] = { size_before: was ? was.size : null, size_after: now.size, blocks: count, changed: differ, past_old_end: past, new_file: fresh, total: differ + past + fresh };
    blocks += differ + past + fresh;
  }
  const gone = Object.keys(before).filter((rel) => !(rel in after));
  return { blocks, bytes: blocks * BLOCK, files, gone };
}

if (!isMainThread && workerData?.op) {
  const job = workerData;
  if (job.op === 'hash') {
    const out = {};
    for (const rel of coveredFiles(job.home)) out[rel] = hashFile(path.join(job.home, rel));
    parentPort.postMessage(out);
  } else if (job.op === 'compare') {
    parentPort.postMessage(compareTrees(job.a, job.b, job.ignore));
  }
}
