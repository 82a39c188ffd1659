import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { storedAs } from '../archive/delta-blocks.js';
import { HashPool } from '../archive/hash-pool.js';
import type { ManifestFile, Metadata } from '../archive/metadata.js';
import { walkArchive, type FileSink } from '../archive/walk.js';
import { AicoError, fromFsError, throwIfAborted } from '../errors.js';
import { noopSink, type OperationContext } from '../events.js';
import type { ChainLink } from '../archive/chain-link.js';
import type { StageResult } from './stage.js';

/** One file of the restore point, assembled from the links that hold its blocks. */
class Assembled {
  readonly filled: Uint8Array;
  remaining: number;
  /** The link whose whole, hash-checked copy gave every block: the file needs no second hash. */
  checkedWhole = false;
  private handle: fs.FileHandle | null = null;

  constructor(
    readonly file: ManifestFile,
    readonly abs: string,
  ) {
    this.filled = new Uint8Array(file.blocks_count);
    this.remaining = file.blocks_count;
  }

  async open(): Promise<fs.FileHandle> {
    if (this.handle) return this.handle;
    await fs.mkdir(path.dirname(this.abs), { recursive: true, mode: 0o700 });
    try {
      // O_EXCL|O_NOFOLLOW: never through a link, never over something already staged.
      this.handle = await fs.open(this.abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      await this.handle.truncate(this.file.size);
    } catch (error) {
      throw fromFsError(error, this.abs);
    }
    return this.handle;
  }

  /** Writes block `index` (its bytes `data`) unless a newer link already gave it. */
  async put(index: number, data: Buffer): Promise<void> {
    if (index >= this.file.blocks_count || this.filled[index]) return;
    const at = index * this.file.block_size;
    const bytes = data.subarray(0, Math.max(0, Math.min(data.length, this.file.size - at)));
    try {
      await (await this.open()).write(bytes, 0, bytes.length, at);
    } catch (error) {
      throw fromFsError(error, this.abs);
    }
    this.filled[index] = 1;
    this.remaining--;
  }

  async close(sync: boolean): Promise<void> {
    const handle = this.handle ?? (sync ? await this.open() : null);
    this.handle = null;
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

/**
 * The stored bytes of one entry, cut into the blocks they are: the whole
 * file's blocks in order, or the changed blocks its runs name.
 */
function blockSink(target: Assembled, stored: ManifestFile): FileSink {
  const size = stored.block_size;
  const indexes = (function* () {
    if (storedAs(stored) === 'whole') for (let i = 0; i < stored.blocks_count; i++) yield i;
    else for (const [first, count] of stored.changed ?? []) for (let i = first; i < first + count; i++) yield i;
  })();
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const blockLength = (i: number) => Math.min(size, stored.size - i * size);
  let next = indexes.next();
  return {
    async write(chunk: Buffer) {
      let pos = 0;
      while (pos < chunk.length && !next.done) {
        const want = blockLength(next.value) - pendingBytes;
        const take = Math.min(want, chunk.length - pos);
        pending.push(chunk.subarray(pos, pos + take));
        pendingBytes += take;
        pos += take;
        if (pendingBytes === blockLength(next.value)) {
          await target.put(next.value, pending.length === 1 ? pending[0]! : Buffer.concat(pending));
          pending = [];
          pendingBytes = 0;
          next = indexes.next();
        }
      }
    },
    async end() {},
  };
}

/**
 * Stages a restore point of an incremental or differential chain (links
 * newest first, each already opened and checked against its parent by
 * resolveChain): each link is walked as verify walks it, newest first, and
 * gives the blocks no newer link gave; older links are not read once every
 * block is there. Then each assembled file is checked against the SHA-256
 * the restore point records. Nothing is written outside `staging`.
 */
export async function stageChain(
  opts: {
    links: ChainLink[];
    staging: string;
    units: Set<string>;
    plan: Map<string, { unit: string; homePath: string }>;
    onUnitStaged?: (unit: string, metadata: Metadata, sealedKey: Buffer | null) => void;
  },
  ctx: OperationContext,
): Promise<StageResult> {
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
  try {
    for (const [k, link] of opts.links.entries()) {
      const missing = [...targets.values()].some((t) => t.remaining > 0);
      // The restore point itself is always read: it holds the master key and is what was asked for.
      if (k > 0 && !missing) break;
      throwIfAborted(ctx.signal);
      const name = path.basename(link.path);
      emit({ type: 'phase', phase: 'stage', message: `Reading ${name} (${k + 1} of ${opts.links.length} in the chain)` });
      const walk = await walkArchive(
        link.reader,
        {
          manifest: { manifest: link.index.manifest, raw: link.index.manifestRaw },
          ...(k === 0 ? { onKeyEntry: (key: Buffer) => (sealedKey = key) } : {}),
          onFile: async (stored) => {
            const target = targets.get(stored.path);
            if (!target || target.remaining === 0) return null;
            if (storedAs(stored) === 'whole' && target.remaining === target.file.blocks_count && stored.sha256 === target.file.sha256) target.checkedWhole = true;
            return blockSink(target, stored);
          },
        },
        ctx,
      ).catch((error) => {
        throw k > 0 ? inLink(error, name) : error;
      });
      if (walk.problems.length > 0) {
        throw new AicoError('CHECKSUM_MISMATCH', `${name} (link ${k + 1} of the chain) failed verification: ${walk.problems.length} problem(s); nothing was restored.`, {
          hint: `${walk.problems.slice(0, 5).map((p) => p.message).join('\n  ')}\n  Use another copy of ${name}.`,
          details: { problems: walk.problems, archive: link.path },
        });
      }
    }
    for (const t of targets.values()) {
      if (t.remaining > 0) {
        throw new AicoError('CHAIN_BROKEN', `${t.file.path}: ${t.remaining} block(s) of the restore point are in no backup of its chain; nothing was restored.`, {
          hint: 'The chain is inconsistent; restore an older restore point or a full backup.',
        });
      }
    }
    for (const t of targets.values()) await t.close(true);
  } finally {
    for (const t of targets.values()) await t.close(false).catch(() => {});
  }
  await checkAssembled([...targets.values()].filter((t) => !t.checkedWhole), ctx.signal);
  emit({ type: 'summary', op: 'verify', ok: true, durationMs: Date.now() - started, bytes: point.reader.fileSize });
  for (const unit of Object.keys(units)) opts.onUnitStaged?.(unit, point.metadata, sealedKey);
  return { metadata: point.metadata, sealedKey, units, files };
}

/** An archive error met in a backup the restore point builds on says which one. */
function inLink(error: unknown, name: string): unknown {
  if (!(error instanceof AicoError) || error.code === 'CANCELLED') return error;
  return new AicoError(error.code, `${name}, which the restore point builds on: ${error.message}`, { hint: error.hint, details: { ...error.details, archive: name }, cause: error });
}

/** Every file put together from blocks is read back and held to the SHA-256 the restore point records. */
async function checkAssembled(targets: Assembled[], signal?: AbortSignal): Promise<void> {
  const hashes = new HashPool();
  try {
    for (const t of targets) {
      const hasher = hashes.begin(t.file.block_size);
      const handle = await fs.open(t.abs, 'r').catch((error) => {
        throw fromFsError(error, t.abs);
      });
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (let at = 0; at < t.file.size; ) {
          throwIfAborted(signal);
          const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, t.file.size - at), at);
          if (bytesRead === 0) break;
          await hasher.update(Buffer.from(buf.subarray(0, bytesRead)));
          at += bytesRead;
        }
      } finally {
        await handle.close();
      }
      if ((await hasher.finish()).sha256 !== t.file.sha256) {
        throw new AicoError('CHECKSUM_MISMATCH', `${t.file.path}, put together from the chain, does not match the SHA-256 its restore point records; nothing was restored.`, {
          hint: 'A backup of the chain is damaged in a way its own checks could not see; restore another restore point.',
        });
      }
    }
  } finally {
    await hashes.close();
  }
}
