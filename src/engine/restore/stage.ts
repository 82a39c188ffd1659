import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Manifest, ManifestFile, Metadata } from '../archive/metadata.js';
import type { ReadManifest } from '../archive/inspect.js';
import type { ArchiveReader } from '../archive/reader.js';
import { walkArchive, type FileSink } from '../archive/walk.js';
import { AicoError, fromFsError } from '../errors.js';
import { noopSink, type OperationContext } from '../events.js';
import { homePathFor } from './layout.js';

export interface StageResult {
  metadata: Metadata;
  /** encryption_key.enc, if the archive has one. */
  sealedKey: Buffer | null;
  /** Bytes and files staged per unit. */
  units: Record<string, { files: number; bytes: number }>;
  /** Every staged file with the mode and mtime the archive records for it. */
  files: { homePath: string; mode: number; mtime: string }[];
}

/** Every manifest path must map into the documented layout before a single byte is written. */
export function planPaths(manifest: Manifest): Map<string, { unit: string; homePath: string }> {
  const plan = new Map<string, { unit: string; homePath: string }>();
  const homePaths = new Set<string>();
  for (const f of manifest.files) {
    if (plan.has(f.path)) throw new AicoError('CORRUPT_ARCHIVE', `The manifest lists "${f.path}" twice; refusing the archive.`);
    const target = homePathFor(f.path);
    // Two names landing on one file (or a file inside another) would let one entry overwrite another.
    if (homePaths.has(target.homePath)) throw new AicoError('CORRUPT_ARCHIVE', `Two archive entries would both restore to ${target.homePath}; refusing.`);
    homePaths.add(target.homePath);
    plan.set(f.path, target);
  }
  for (const p of homePaths) {
    for (let dir = path.posix.dirname(p); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (homePaths.has(dir)) throw new AicoError('CORRUPT_ARCHIVE', `Archive entry ${dir} is both a file and a directory; refusing.`);
    }
  }
  return plan;
}

/**
 * Flushes staged files to disk one after another, behind the walk: the fsync of
 * a large file (0.5 s for a 450 MiB libSQL database) no longer holds up
 * decrypting and decompressing the next one. One at a time, so the flushes take
 * one thread of libuv's pool and the staging writes keep the others.
 * `drain()` returns only once every file is flushed and closed, and throws the
 * first failure: staging is durable before stageArchive returns, as before.
 */
class SyncQueue {
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private queued = 0;

  /** Resolves once the queue is short again (a bound on the handles held open). */
  async add(handle: fs.FileHandle, file: string): Promise<void> {
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (this.failure === null) await handle.sync();
      } catch (error) {
        this.failure ??= fromFsError(error, file);
      } finally {
        this.queued--;
        await handle.close().catch(() => {});
      }
    });
    if (this.queued > 16) await this.chain;
  }

  async drain(): Promise<void> {
    await this.chain;
    if (this.failure !== null) throw this.failure;
  }
}

class StagedFile implements FileSink {
  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly file: string,
    private readonly declared: number,
    private readonly syncs: SyncQueue,
  ) {}
  private written = 0;

  static async open(file: string, declared: number, syncs: SyncQueue): Promise<StagedFile> {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      // O_EXCL|O_NOFOLLOW: never through a link, never over something already staged.
      // 0600 while staged, so validation can open it; the recorded mode comes with applyRecorded().
      const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      return new StagedFile(handle, file, declared, syncs);
    } catch (error) {
      throw fromFsError(error, file);
    }
  }

  async write(chunk: Buffer): Promise<void> {
    this.written += chunk.length;
    if (this.written > this.declared) throw new AicoError('CORRUPT_ARCHIVE', `${this.file}: more data than the manifest declares; refusing.`);
    try {
      await this.handle.write(chunk);
    } catch (error) {
      throw fromFsError(error, this.file);
    }
  }

  async end(): Promise<void> {
    await this.syncs.add(this.handle, this.file);
  }
}

/** Where and what to stage: stageArchive for one archive, stageChain (stage-chain.ts) for a restore point of a chain. */
export interface StageInto {
  staging: string;
  units: Set<string>;
  plan: Map<string, { unit: string; homePath: string }>;
  /** A unit's files are all staged and checked against their hashes (it can be validated while the walk goes on). */
  onUnitStaged?: (unit: string, metadata: Metadata, sealedKey: Buffer | null) => void;
}

/**
 * One pass over the archive (archive/walk.ts), through the reader and
 * against the manifest the restore was planned from: authenticates and
 * checks everything, as verify does, and writes the files of the chosen
 * units into `staging`, laid out like the home. Nothing is written outside
 * staging; the caller removes staging if anything fails. Reports as a verify.
 */
export async function stageArchive(
  opts: StageInto & {
    reader: ArchiveReader;
    manifest: ReadManifest;
  },
  ctx: OperationContext,
): Promise<StageResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const { reader } = opts;
  let sealedKey: Buffer | null = null;
  const units: StageResult['units'] = {};
  const files: StageResult['files'] = [];
  emit({ type: 'start', op: 'verify', path: reader.path });
  const syncs = new SyncQueue();
  // Files left to stage per unit; a unit is announced once its last file has been written and
  // checked, i.e. when the walk asks for the next file (or ends) without a problem so far.
  const left = new Map<string, number>();
  for (const f of opts.manifest.manifest.files) {
    const unit = opts.plan.get(f.path)?.unit;
    if (unit && opts.units.has(unit)) left.set(unit, (left.get(unit) ?? 0) + 1);
  }
  let metadataSeen: Metadata | null = null;
  let problemsSeen = 0;
  const announce = () => {
    if (!opts.onUnitStaged || !metadataSeen || problemsSeen > 0) return;
    for (const [unit, n] of left) {
      if (n !== 0) continue;
      left.delete(unit);
      opts.onUnitStaged(unit, metadataSeen, sealedKey);
    }
  };
  let walk: Awaited<ReturnType<typeof walkArchive>>;
  try {
    walk = await walkArchive(
      reader,
      {
        manifest: opts.manifest,
        onKeyEntry: (k) => (sealedKey = k),
        onMetadata: (m) => (metadataSeen = m),
        onProblem: () => problemsSeen++,
        onFile: async (file: ManifestFile) => {
          announce();
          const target = opts.plan.get(file.path);
          if (!target || !opts.units.has(target.unit)) return null;
          left.set(target.unit, (left.get(target.unit) ?? 1) - 1);
          const u = (units[target.unit] ??= { files: 0, bytes: 0 });
          u.files++;
          u.bytes += file.size;
          files.push({ homePath: target.homePath, mode: file.mode, mtime: file.mtime });
          return StagedFile.open(path.join(opts.staging, ...target.homePath.split('/')), file.size, syncs);
        },
      },
      ctx,
    );
  } finally {
    // Every handle is closed before the caller may remove staging; a walk that failed reports its own error.
    await syncs.drain().catch(() => {});
  }
  await syncs.drain();
  const { problems, metadata } = walk;
  emit({ type: 'summary', op: 'verify', ok: problems.length === 0, durationMs: Date.now() - started, bytes: reader.fileSize });
  if (problems.length > 0) {
    throw new AicoError('CHECKSUM_MISMATCH', `The archive failed verification: ${problems.length} problem(s); nothing was restored.`, {
      hint: `${problems.slice(0, 5).map((p) => p.message).join('\n  ')}\n  Use another copy of this backup.`,
      details: { problems },
    });
  }
  if (!metadata) throw new AicoError('CORRUPT_ARCHIVE', 'The archive has no metadata; nothing was restored.');
  return { metadata, sealedKey, units, files };
}

/** Key material keeps its owner-only mode whatever the archive says. */
const KEY_MATERIAL = /\.(salt|key)$/;

/**
 * The mode a restored file gets: the permission bits the archive records
 * (never setuid, setgid or sticky, which an archive must not be able to
 * grant), except that key material is never readable by others.
 */
export function restoredMode(homePath: string, recorded: number): number {
  const perms = recorded & 0o777;
  return KEY_MATERIAL.test(homePath) ? perms & 0o700 : perms;
}

/**
 * Gives every staged file its recorded mode and mtime. Run after validation,
 * which may open (and touch) the files, and before the swap.
 */
export async function applyRecorded(staging: string, files: StageResult['files']): Promise<void> {
  for (const f of files) {
    const file = path.join(staging, ...f.homePath.split('/'));
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      throw fromFsError(error, file);
    }
    try {
      const mtime = new Date(f.mtime);
      if (!Number.isNaN(mtime.getTime())) await handle.utimes(mtime, mtime);
      await handle.chmod(restoredMode(f.homePath, f.mode));
    } catch (error) {
      throw fromFsError(error, file);
    } finally {
      await handle.close();
    }
  }
}
