import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readBlockIndex } from '../archive/block-index.js';
import { formatVersionOf, readMetadata } from '../archive/inspect.js';
import { CHUNK_SIZE, FORMAT_VERSION, KEY_ENTRY, SEGMENT_SIZE } from '../archive/layout.js';
import type { Metadata } from '../archive/metadata.js';
import { freeArchivePath } from '../archive/naming.js';
import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import { writeArchive, type PlannedFile } from '../archive/writer.js';
import { getCodec } from '../codec/index.js';
import { MIN_PBKDF2_ITERATIONS } from '../crypto/kdf.js';
import { AicoError, throwIfAborted } from '../errors.js';
import { nestedContext, noopSink, throttledProgress, type OperationContext } from '../events.js';
import { PARTIAL_SUFFIX } from '../fsutil/atomic-file.js';
import { isRemote } from '../store/location.js';
import { acquireDirLock, type DirLock } from '../fsutil/lock.js';
import { stageChain } from '../restore/stage-chain.js';
import { planPaths } from '../restore/stage.js';
import { TOOL_VERSION } from '../version.js';
import { askOnce, closeLinks, resolveChain, type ChainLink } from './chain.js';

export interface ConsolidateOptions {
  /** The restore point: an incremental or differential backup. */
  path: string;
  password?: PasswordProvider;
  /** Where the full backup is written; default: the restore point's directory. */
  outputDir?: string;
  /** Tests only: a cheaper KDF. */
  kdfIterations?: number;
  /** The output directory's lock, already held by the caller (cleanup, delete --consolidate). */
  lock?: DirLock;
}

export interface ConsolidateResult {
  backup: { path: string; id: string; type: 'full'; bytes: number; created: string; encrypted: boolean; files: number };
  /** The restore point and the backups it was put together from, newest first. */
  from: { path: string; id: string; type: string }[];
  durationMs: number;
}

/**
 * Writes a full backup of a restore point from its chain (the links are
 * read, verified and put together as a restore does, into a staging
 * directory beside the new archive), so the chain can be kept short: the
 * source data and the chain's archives are not touched. The full backup has
 * the restore point's time, databases and master key, the same encryption
 * and compression, and a new id; metadata.consolidated_from names the chain.
 */
export async function consolidate(opts: ConsolidateOptions, ctx: OperationContext = {}): Promise<ConsolidateResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  emit({ type: 'start', op: 'consolidate', path: opts.path });
  if (isRemote(opts.outputDir ?? opts.path)) {
    throw new AicoError('USAGE', 'Consolidating into a bucket is not supported yet; nothing was changed.', {
      hint: 'Consolidate in a local copy (aico backup sync s3://... DIR, then consolidate there and sync back), or delete with --with-dependents.',
    });
  }
  const password = askOnce(opts.password);
  const reader = await ArchiveReader.open(opts.path, password, ctx.signal);
  let links: ChainLink[] = [];
  try {
    const { metadata } = await readMetadata(reader);
    formatVersionOf(metadata);
    if (!metadata.parent_id) {
      throw new AicoError('USAGE', `${path.basename(opts.path)} is already a full backup.`, { hint: 'Consolidate an incremental or differential backup.' });
    }
    const index = await readBlockIndex(reader, ctx.signal);
    emit({ type: 'phase', phase: 'header', message: `Checking the chain of ${path.basename(opts.path)}` });
    links = await resolveChain({ path: opts.path, reader, metadata, index }, password, ctx.signal);
    const outputDir = path.resolve(opts.outputDir ?? path.dirname(opts.path));
    const lock = opts.lock ?? (await acquireDirLock(outputDir, 'consolidate'));
    const staging = path.join(outputDir, `.aico-staging.${process.pid}${PARTIAL_SUFFIX}`);
    try {
      await fs.mkdir(staging, { mode: 0o700 });
      const plan = planPaths(index.manifest);
      const units = new Set([...plan.values()].map((p) => p.unit));
      const staged = await stageChain({ links, staging, units, plan }, nestedContext(ctx, 'consolidate', 'verify'));
      throwIfAborted(ctx.signal);
      const files: PlannedFile[] = index.manifest.files.map((f) => ({
        source: f.source,
        absPath: path.join(staging, ...plan.get(f.path)!.homePath.split('/')),
        archivePath: f.path,
        size: f.size,
        mode: f.mode,
        mtime: new Date(f.mtime),
      }));
      const codec = getCodec(metadata.compression.algorithm);
      const encrypted = metadata.encryption.enabled;
      const secret = encrypted ? await password!() : null;
      const iterations = opts.kdfIterations ?? MIN_PBKDF2_ITERATIONS;
      const created = new Date(metadata.created);
      const full: Metadata = {
        ...metadata,
        backup_version: FORMAT_VERSION,
        tool: { name: 'aico-backup', version: TOOL_VERSION },
        id: randomUUID(),
        backup_type: 'full',
        parent_id: null,
        encryption: encrypted ? { enabled: true, cipher: 'aes-256-gcm-stream', kdf: 'pbkdf2-hmac-sha256', iterations, segment_size: SEGMENT_SIZE } : { enabled: false },
        compression: { ...metadata.compression, chunk_size: CHUNK_SIZE },
        consolidated_from: links.map((l) => ({ id: l.metadata.id, name: path.basename(l.path), backup_type: l.metadata.backup_type })),
      };
      delete full.parent;
      delete full.chain_length;
      const archivePath = await freeArchivePath(outputDir, created, codec.extension, encrypted);
      emit({ type: 'phase', phase: 'archive', message: `Writing ${path.basename(archivePath)}` });
      const total = files.reduce((n, f) => n + f.size, 0);
      const progress = throttledProgress(emit, total);
      try {
        const written = await writeArchive({
          path: archivePath,
          codec,
          codecLevel: metadata.compression.codec_level,
          encryption: secret ? { password: secret, iterations } : null,
          metadata: full,
          extraEntries: staged.sealedKey ? [{ name: KEY_ENTRY, data: staged.sealedKey }] : [],
          files,
          signal: ctx.signal,
          onProgress: (done, source) => progress.update(done, source),
        });
        progress.flush(total);
        const durationMs = Date.now() - started;
        emit({ type: 'phase', phase: 'finalize', message: `Saved ${archivePath}` });
        emit({ type: 'summary', op: 'consolidate', ok: true, durationMs, bytes: written.bytes });
        return {
          backup: { path: archivePath, id: full.id, type: 'full', bytes: written.bytes, created: full.created, encrypted, files: written.files },
          from: links.map((l) => ({ path: l.path, id: l.metadata.id, type: l.metadata.backup_type })),
          durationMs,
        };
      } finally {
        secret?.fill(0);
      }
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
      if (!opts.lock) await lock.release();
    }
  } finally {
    await closeLinks(links.slice(1));
    await reader.close();
  }
}
