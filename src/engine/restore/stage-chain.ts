import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { storedAs } from '../archive/delta-blocks.js';
import { FileHasher } from '../archive/file-hasher.js';
import type { ManifestFile } from '../archive/metadata.js';
import { walkArchive, type FileSink } from '../archive/walk.js';
import { AicoError, fromFsError, throwIfAborted } from '../errors.js';
import { maybeCrash } from '../fsutil/fault.js';
import { noopSink, type OperationContext } from '../events.js';
import type { ChainLink } from '../archive/chain-link.js';
import type { StageInto, StageResult } from './stage.js';

/** No link holds the block (a chain that does not fit; found before anything is read). */
const NO_OWNER = 0xff;

/** One file of the restore point, assembled from the links that hold its blocks. */
class Assembled {
  readonly filled: Uint8Array;
  /** For each block, the link (index, newest first) whose copy of it is the restore point's: the newest that stores it. */
  readonly owner: Uint8Array;
  remaining: number;
  /** The link whose whole, hash-checked copy gave every block: the file needs no second hash. */
  checkedWhole = false;
  private opening: Promise<fs.FileHandle> | null = null;

  constructor(
    readonly file: ManifestFile,
    readonly abs: string,
  ) {
    this.filled = new Uint8Array(file.blocks_count);
    this.owner = new Uint8Array(file.blocks_count).fill(NO_OWNER);
    this.remaining = file.blocks_count;
  }

  /** Opened once, however many links write into it at the same time. */
  open(): Promise<fs.FileHandle> {
    this.opening ??= (async () => {
      await fs.mkdir(path.dirname(this.abs), { recursive: true, mode: 0o700 });
      try {
        // O_EXCL|O_NOFOLLOW: never through a link, never over something already staged.
        const handle = await fs.open(this.abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        await handle.truncate(this.file.size);
        return handle;
      } catch (error) {
        throw fromFsError(error, this.abs);
      }
    })();
    return this.opening;
  }

  /**
   * Writes, of `count` consecutive blocks from `first` (their bytes back to
   * back in `data`) read from link `link`, those the link owns: one write per
   * stretch of them.
   */
  async putRun(link: number, first: number, count: number, data: Buffer): Promise<void> {
    const size = this.file.block_size;
    const mine = (i: number) => i < this.file.blocks_count && this.owner[i] === link && !this.filled[i];
    for (let i = first; i < first + count; ) {
      if (!mine(i)) {
        i++;
        continue;
      }
      let end = i;
      while (end < first + count && mine(end)) end++;
      const from = (i - first) * size;
      const bytes = data.subarray(from, Math.min(data.length, (end - first) * size, from + (this.file.size - i * size)));
      try {
        const handle = await this.open();
        for (let done = 0; done < bytes.length; ) done += (await handle.write(bytes, done, bytes.length - done, i * size + done)).bytesWritten;
      } catch (error) {
        throw fromFsError(error, this.abs);
      }
      this.filled.fill(1, i, end);
      this.remaining -= end - i;
      i = end;
    }
  }

  private finished = false;

  /** Closes the file; `sync`: flushed to disk first (an empty file is created then). Once synced, it stays closed. */
  async close(sync: boolean): Promise<void> {
    if (this.finished) return;
    const handle = this.opening ? await this.opening.catch(() => null) : sync ? await this.open() : null;
    this.opening = null;
    if (sync) this.finished = true;
    if (!handle) return;
    try {
      if (sync) await handle.sync();
    } catch (error) {
      throw fromFsError(error, this.abs);
    } finally {
      await handle.close().catch(() => {});
    }
  }
}

/** Bytes of consecutive blocks gathered before they are written. */
const RUN_BYTES = 1 << 20;

/**
 * The stored bytes of one entry, cut into the blocks they are (the whole
 * file's blocks in order, or the changed blocks its runs name) and written
 * in stretches of consecutive blocks. The walk may reuse a chunk's memory
 * once write() returns, so bytes are copied into the sink's own buffer.
 */
function blockSink(target: Assembled, stored: ManifestFile, link: number): FileSink {
  const size = stored.block_size;
  const indexes = (function* () {
    if (storedAs(stored) === 'whole') for (let i = 0; i < stored.blocks_count; i++) yield i;
    else for (const [first, count] of stored.changed ?? []) for (let i = first; i < first + count; i++) yield i;
  })();
  const blockLength = (i: number) => Math.min(size, stored.size - i * size);
  const run = Buffer.allocUnsafe(RUN_BYTES);
  let runFirst = -1;
  let runBlocks = 0;
  let runBytes = 0;
  let blockBytes = 0;
  const flush = async () => {
    if (runBlocks > 0) await target.putRun(link, runFirst, runBlocks, run.subarray(0, runBytes));
    runBlocks = 0;
    runBytes = 0;
  };
  let next = indexes.next();
  return {
    async write(chunk: Buffer) {
      let pos = 0;
      while (pos < chunk.length && !next.done) {
        const index = next.value;
        if (blockBytes === 0 && runBlocks > 0 && (index !== runFirst + runBlocks || runBytes + size > RUN_BYTES)) await flush();
        if (runBlocks === 0 && blockBytes === 0) runFirst = index;
        const take = Math.min(blockLength(index) - blockBytes, chunk.length - pos);
        chunk.copy(run, runBytes, pos, pos + take);
        runBytes += take;
        blockBytes += take;
        pos += take;
        if (blockBytes === blockLength(index)) {
          runBlocks++;
          blockBytes = 0;
          next = indexes.next();
        }
      }
    },
    end: flush,
  };
}

/**
 * Stages a restore point of an incremental or differential chain (links
 * newest first, each already opened and checked against its parent by
 * resolveChain): each block is given by the newest link that stores it
 * (assignOwners), links that give nothing are not read, and the others are
 * walked as verify walks them, the restore point first. Each assembled file
 * is then checked against the SHA-256 the restore point records. Nothing is
 * written outside `staging`.
 */
export async function stageChain(opts: StageInto & { links: ChainLink[] }, ctx: OperationContext): Promise<StageResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const point = opts.links[0]!;
  emit({ type: 'start', op: 'verify', path: point.path });
  const targets = new Map<string, Assembled>();
  const units: StageResult['units'] = {};
  const files: StageResult['files'] = [];
  for (const f of point.index.manifest.files) {
    const target = opts.plan.get(f.path);
    if (!target || !opts.units.has(target.unit)) continue;
    targets.set(f.path, new Assembled(f, path.join(opts.staging, ...target.homePath.split('/'))));
    const u = (units[target.unit] ??= { files: 0, bytes: 0 });
    u.files++;
    u.bytes += f.size;
    files.push({ homePath: target.homePath, mode: f.mode, mtime: f.mtime });
  }
  let sealedKey: Buffer | null = null;
  // A unit is validated while later links are still read once its files are all written, synced
  // and hashed, and no problem was found so far (as stageArchive announces a unit).
  const byUnit = new Map<string, Assembled[]>();
  for (const [p, t] of targets) {
    const unit = opts.plan.get(p)!.unit;
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), t]);
  }
  const hasher = new FileHasher();
  const checks: Promise<void>[] = [];
  let problemsSeen = 0;
  const announce = () => {
    if (problemsSeen > 0) return;
    for (const [unit, ts] of byUnit) {
      if (ts.some((t) => t.remaining > 0)) continue;
      byUnit.delete(unit);
      const check = (async () => {
        for (const t of ts) await t.close(true);
        await Promise.all(ts.filter((t) => !t.checkedWhole).map((t) => checkAssembled(hasher, t)));
        opts.onUnitStaged?.(unit, point.metadata, sealedKey);
      })();
      check.catch(() => {});
      checks.push(check);
    }
  };
  const needed = assignOwners(targets, opts.links);
  // Each block is written by the one link that owns it, so links can be read at the same time.
  const stop = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  const stageLink = async (k: number) => {
    const link = opts.links[k]!;
    throwIfAborted(signal);
    const name = path.basename(link.path);
    emit({ type: 'phase', phase: 'stage', message: `Reading ${name} (${k + 1} of ${opts.links.length} in the chain)` });
    const walk = await walkArchive(
      link.reader,
      {
        manifest: { manifest: link.index.manifest, raw: link.index.manifestRaw },
        ...(k === 0 ? { onKeyEntry: (key: Buffer) => (sealedKey = key) } : {}),
        onProblem: () => problemsSeen++,
        onFile: async (stored) => {
          announce();
          const target = targets.get(stored.path);
          if (!target || !target.owner.includes(k)) return null;
          if (storedAs(stored) === 'whole' && target.owner.every((o) => o === k) && stored.sha256 === target.file.sha256) target.checkedWhole = true;
          return blockSink(target, stored, k);
        },
      },
      { ...ctx, signal },
    ).catch((error) => {
      throw k > 0 ? inLink(error, name) : error;
    });
    if (walk.problems.length > 0) {
      throw new AicoError('CHECKSUM_MISMATCH', `${name} (link ${k + 1} of the chain) failed verification: ${walk.problems.length} problem(s); nothing was restored.`, {
        hint: `${walk.problems.slice(0, 5).map((p) => p.message).join('\n  ')}\n  Use another copy of ${name}.`,
        details: { problems: walk.problems, archive: link.path },
      });
    }
    announce();
    maybeCrash(`chain:${k}`);
  };
  try {
    // The restore point first (it holds the master key), then the links it needs, two at a time.
    await stageLink(0);
    // Newest first. Reading the full backup beside the deltas rather than after them gained nothing on
    // 2 cores (26.8 s against 24.9 s for a 7-link chain): a link's walk keeps a core busy.
    const queue = needed.filter((k) => k > 0);
    const worker = async () => {
      for (let k = queue.shift(); k !== undefined; k = queue.shift()) await stageLink(k);
    };
    // The first failure stops the other reader; it, not the other's cancellation, is what is reported.
    let first: { error: unknown } | null = null;
    await Promise.allSettled(
      Array.from({ length: Math.min(LINKS_AT_ONCE, queue.length) }, () =>
        worker().catch((error) => {
          first ??= { error };
          stop.abort();
        }),
      ),
    );
    if (first) throw (first as { error: unknown }).error;
    for (const t of targets.values()) {
      if (t.remaining > 0) {
        throw new AicoError('CHAIN_BROKEN', `${t.file.path}: ${t.remaining} block(s) of the restore point are in no backup of its chain; nothing was restored.`, {
          hint: 'The chain is inconsistent; restore an older restore point or a full backup.',
        });
      }
    }
    await Promise.all(checks);
  } finally {
    // Every handle is closed before the caller may remove staging.
    await Promise.allSettled(checks);
    for (const t of targets.values()) await t.close(false).catch(() => {});
    await hasher.close();
  }
  emit({ type: 'summary', op: 'verify', ok: true, durationMs: Date.now() - started, bytes: point.reader.fileSize });
  return { metadata: point.metadata, sealedKey, units, files };
}

/** Links read at the same time: as many as there are cores to decrypt, decompress and hash them. */
const LINKS_AT_ONCE = 2;

/**
 * Which link gives each block of each file of the restore point: the newest
 * that stores it (a link stores all of a file it has whole, the changed
 * blocks of one it has as blocks). Returns the links that give anything,
 * ascending; a block no link gives is CHAIN_BROKEN before anything is read.
 */
function assignOwners(targets: Map<string, Assembled>, links: ChainLink[]): number[] {
  const needed = new Set<number>([0]);
  for (const [k, link] of links.entries()) {
    for (const f of link.index.manifest.files) {
      const t = targets.get(f.path);
      if (!t) continue;
      const stored = storedAs(f);
      const runs: [number, number][] = stored === 'whole' ? [[0, f.blocks_count]] : stored === 'blocks' ? (f.changed ?? []) : [];
      for (const [first, count] of runs) {
        for (let i = first; i < Math.min(first + count, t.file.blocks_count); i++) {
          if (t.owner[i] !== NO_OWNER) continue;
          t.owner[i] = k;
          needed.add(k);
        }
      }
    }
  }
  for (const t of targets.values()) {
    const missing = t.owner.filter((o) => o === NO_OWNER).length;
    if (missing > 0) {
      throw new AicoError('CHAIN_BROKEN', `${t.file.path}: ${missing} block(s) of the restore point are in no backup of its chain; nothing was restored.`, {
        hint: 'The chain is inconsistent; restore an older restore point or a full backup.',
      });
    }
  }
  return [...needed].sort((a, b) => a - b);
}

/** An archive error met in a backup the restore point builds on says which one. */
function inLink(error: unknown, name: string): unknown {
  if (!(error instanceof AicoError) || error.code === 'CANCELLED') return error;
  return new AicoError(error.code, `${name}, which the restore point builds on: ${error.message}`, { hint: error.hint, details: { ...error.details, archive: name }, cause: error });
}

/** A file put together from blocks is read back and held to the SHA-256 the restore point records. */
async function checkAssembled(hasher: FileHasher, t: Assembled): Promise<void> {
  const { sha256 } = await hasher.hash(t.abs, t.file.size, t.file.block_size, false);
  if (sha256 !== t.file.sha256) {
    throw new AicoError('CHECKSUM_MISMATCH', `${t.file.path}, put together from the chain, does not match the SHA-256 its restore point records; nothing was restored.`, {
      hint: 'A backup of the chain is damaged in a way its own checks could not see; restore another restore point.',
    });
  }
}
