import { randomUUID } from 'node:crypto';
import { arch, platform } from 'node:os';
import { getCodec } from '../codec/index.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Keyring } from '../keys/keyring.js';
import type { MasterKeySource } from '../keys/master-key.js';
import { PARTIAL_SUFFIX, pathExists } from '../fsutil/atomic-file.js';
import { DATABASE_ADAPTERS } from '../sources/adapters.js';
import { snapshotSources } from '../sources/snapshot.js';
import { scanSources } from '../sources/scan.js';
import type { DatabaseAdapter } from '../sources/types.js';
import { prepareCreateKeys } from './create-keys.js';
import { checkBackupType, type BackupType, type DeltaPlan, type RequestedType } from './create-type.js';
import { openDeltaPlan } from './delta.js';
import { stagingNoSpace } from './create-space.js';
import type { CodecName } from '../codec/types.js';
import { freeArchivePath } from '../archive/naming.js';
import { CHUNK_SIZE, DELTA_FORMAT_VERSION, FORMAT_VERSION, KEY_ENTRY, SEGMENT_SIZE } from '../archive/layout.js';
import type { Metadata, PreRestore, SourceStats } from '../archive/metadata.js';
import { writeArchive, type WriteArchiveOptions } from '../archive/writer.js';
import { startSnapshotChecks } from './snapshot-checks.js';
import { MIN_PBKDF2_ITERATIONS } from '../crypto/kdf.js';
import { AicoError, passwordRequired, throwIfAborted } from '../errors.js';
import type { Warning, WarningCode } from '../codes.js';
import { noopSink, throttledProgress, warningEvent, type OperationContext } from '../events.js';
import { acquireDirLock, type DirLock } from '../fsutil/lock.js';
import { ensurePrivateDir } from '../fsutil/atomic-file.js';
import { refuseIncompleteHome } from '../restore/journal.js';
import { refuseUnmountedHome } from '../migrate/mounted.js';
import { selectSources } from '../sources/catalog.js';
import { LIBSQL_HOME } from '../home/layout.js';
import { TOOL_VERSION } from '../version.js';

export interface CreateOptions {
  home: string;
  outputDir: string;
  encrypt: boolean;
  /** Asked for only when encrypting, after the sources were found. */
  password?: () => Promise<Buffer>;
  compression: CodecName;
  /** 1..9, mapped onto the codec's range. */
  compressionLevel: number;
  include: string[];
  exclude: string[];
  /** Tests only: a cheaper KDF. */
  kdfIterations?: number;
  /** Where the master key is looked up (default: the system keyring, then $AICO_MASTER_KEY). */
  keyring?: Keyring;
  env?: NodeJS.ProcessEnv;
  /** Copy databases that are in use anyway, marked inconsistent. */
  allowLive?: boolean;
  /** Tests only: other database adapters. */
  adapters?: Record<string, DatabaseAdapter[]>;
  /**
   * Copy database files as they are instead of through their engines: only
   * for a home nobody is using, e.g. the pre-restore safety backup, whose
   * databases may not open with the keys at hand.
   */
  rawCopy?: boolean;
  /** Default "full"; "auto" is incremental when there is a parent to build on, else full. */
  backupType?: RequestedType;
  /** The archive (path or id) an incremental or differential backup builds on; none for a full one. */
  parent?: string;
  /** Where the parent of an incremental or differential is looked for (a bucket, when outputDir is the local spool of an upload); default outputDir. */
  parentDir?: string;
  /** Told of each append to the archive file while it is written (an upload that starts before the archive is finished). */
  onArchiveAppended?: WriteArchiveOptions['onAppended'];
  /** Longest chain an incremental may make (default 14, ops/delta.ts). */
  maxChain?: number;
  /**
   * The output directory's lock, already held by the caller (e.g. a scheduled
   * run that also cleans up old backups under it); create then neither takes
   * nor releases the lock itself.
   */
  lock?: DirLock;
  /** Added to the archive name, e.g. "pre-restore". */
  label?: string;
  /** Marks the archive as a pre-restore safety backup (metadata purpose and pre_restore). */
  preRestore?: PreRestore;
  /** The backup's recorded time (create --time); default now. */
  now?: Date;
}

export interface CreateResult {
  backup: {
    path: string;
    id: string;
    type: BackupType;
    /** The id of the backup this one builds on; null for a full backup. */
    parent_id: string | null;
    /** Links between this backup and its full backup: 0 for a full one. */
    chain_length: number;
    /** Bytes of the backed-up files, and of what this archive stores of them (all of it for a full backup). */
    data_bytes: number;
    stored_bytes: number;
    bytes: number;
    created: string;
    encrypted: boolean;
    compression: CodecName;
    files: number;
    sources: Record<string, SourceStats>;
  };
  /** Where the master key came from; `included` when encryption_key.enc holds it. */
  masterKey: { source: MasterKeySource; included: boolean };
  warnings: Warning[];
  durationMs: number;
}

/**
 * Creates a backup of the AICO home: full unless told otherwise.
 *
 * @example
 * const result = await create({ home, outputDir, encrypt: true, password: async () => Buffer.from(pw),
 *   compression: 'zstd', compressionLevel: 3, include: ['libsql', 'config'], exclude: [] }, { onEvent: console.log });
 */
export async function create(opts: CreateOptions, ctx: OperationContext = {}): Promise<CreateResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const warnings: CreateResult['warnings'] = [];
  const warn = (code: WarningCode, message: string) => {
    warnings.push({ code, message });
    emit(warningEvent(code, message));
  };
  emit({ type: 'start', op: 'create' });
  const requested = opts.backupType ?? 'full';
  checkBackupType(requested, opts.parent);
  if (requested !== 'full' && opts.rawCopy) throw new AicoError('USAGE', 'A raw copy (safety backup) is always a full backup.');
  // A home an interrupted restore left half swapped would make a backup that looks good and is not.
  await refuseIncompleteHome(opts.home);
  const codec = getCodec(opts.compression);
  if (!Number.isInteger(opts.compressionLevel) || opts.compressionLevel < 1 || opts.compressionLevel > 9) {
    throw new AicoError('USAGE', `Compression level must be 1..9 (got ${opts.compressionLevel}).`);
  }
  const codecLevel = codec.codecLevel(opts.compressionLevel);

  const defs = selectSources(opts.include, opts.exclude);
  if (defs.length === 0) throw new AicoError('USAGE', 'Nothing selected: --include and --exclude leave no source.');
  // Before asking for a password or creating the output directory: is there anything to back up at all?
  await refuseUnmountedHome(opts.home, opts.env);
  const present = await Promise.all(defs.flatMap((d) => d.homePaths.map((p) => pathExists(path.join(opts.home, p)))));
  if (!present.some(Boolean)) throw noData(opts.home);
  const password = opts.encrypt ? await requirePassword(opts.password) : null;
  let staging: string | null = null;
  let plan: DeltaPlan | null = null;
  try {
    const keys = await prepareCreateKeys({
      home: opts.home,
      password,
      wantsLibsql: !opts.rawCopy && defs.some((d) => d.name === 'libsql') && (await pathExists(path.join(opts.home, LIBSQL_HOME))),
      keyring: opts.keyring,
      env: opts.env,
      kdfIterations: opts.kdfIterations,
      warn,
    });
    const masterKey = keys.masterKey;
    throwIfAborted(ctx.signal);
    const delta = requested === 'full' ? null : () => openPlan(opts, requested, password, keys.fingerprint, warn, ctx.signal);
    // No output directory yet: no parent in it either, and an incremental refused for that must not create it.
    const planned = delta && !(await pathExists(opts.outputDir)) ? { plan: await delta() } : null;
    plan = planned?.plan ?? null;
    let lock: DirLock;
    try {
      await ensurePrivateDir(opts.outputDir);
      lock = opts.lock ? await checkHeldLock(opts.lock, opts.outputDir) : await acquireDirLock(opts.outputDir, 'create');
    } catch (error) {
      await plan?.close();
      throw error;
    }
    if (lock.takeover && !opts.lock) warn('STALE_LOCK', lock.takeover);
    try {
      // Under the lock, so the parent cannot be cleaned up while this backup builds on it; while the
      // snapshots are taken, which a parent that cannot serve stops.
      const stopSnapshots = new AbortController();
      const planning = delta && !planned ? delta() : null;
      planning?.catch(() => stopSnapshots.abort());
      const snapshotSignal = ctx.signal ? AbortSignal.any([ctx.signal, stopSnapshots.signal]) : stopSnapshots.signal;
      // Staged copies live next to the archive: same filesystem, same permissions, cleaned up if we die.
      staging = path.join(opts.outputDir, `.aico-staging.${process.pid}${PARTIAL_SUFFIX}`);
      await fs.mkdir(staging, { mode: 0o700 });
      emit({ type: 'phase', phase: 'scan', message: `Taking consistent snapshots of the AICO data in ${opts.home}` });
      const scan = opts.rawCopy ? await scanSources(opts.home, defs) : await snapshotSources(defs, {
        home: opts.home,
        staging,
        allowLive: opts.allowLive ?? false,
        libsqlKey: keys.libsqlKey,
        adapters: opts.adapters ?? DATABASE_ADAPTERS,
        signal: snapshotSignal,
        warn,
        onDatabase: (name, location) => emit({ type: 'phase', phase: 'snapshot', message: `Snapshot of ${name} (${location})` }),
      }).catch(async (error) => {
        // The parent's refusal is the reason the snapshots stopped; an opened parent is closed below.
        if (planning) plan = await planning;
        throw stagingNoSpace(error, opts.outputDir);
      });
      if (planning) plan = await planning;
      const backupType: BackupType = plan ? (requested === 'auto' ? 'incremental' : requested) : 'full';
      for (const name of scan.missing) warn('SOURCE_MISSING', `No ${name} data in ${opts.home}; skipped.`);
      for (const s of scan.skipped) warn('FILE_SKIPPED', `Skipped ${s.path} (${s.reason}).`);
      if (scan.sources.length === 0) throw noData(opts.home);
      const files = scan.sources.flatMap((s) => s.files);
      const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
      for (const s of scan.sources) emit({ type: 'item', source: s.name, path: s.stats.archive_path, bytes: s.stats.size_bytes });
      const keyEntry = keys.keyEntry;
      const created = opts.now ?? new Date();
      const archivePath = await freeArchivePath(opts.outputDir, created, codec.extension, opts.encrypt, opts.label);
      const iterations = opts.kdfIterations ?? MIN_PBKDF2_ITERATIONS;
      const databases = Object.fromEntries(scan.sources.map((s) => [s.name, s.stats]));
      if (databases.libsql && keys.libsqlIterations) databases.libsql.kdf_iterations = keys.libsqlIterations;
      const metadata: Metadata = {
        backup_version: plan ? DELTA_FORMAT_VERSION : FORMAT_VERSION,
        tool: { name: 'aico-backup', version: TOOL_VERSION },
        id: randomUUID(),
        created: created.toISOString(),
        backup_type: backupType,
        parent_id: plan?.parentId ?? null,
        encryption: opts.encrypt
          ? { enabled: true, cipher: 'aes-256-gcm-stream', kdf: 'pbkdf2-hmac-sha256', iterations, segment_size: SEGMENT_SIZE }
          : { enabled: false },
        compression: { algorithm: codec.name, level: codec.name === 'none' ? null : opts.compressionLevel, codec_level: codecLevel, chunk_size: CHUNK_SIZE },
        databases,
        platform: { os: platform(), arch: arch(), node: process.version },
        home: opts.home,
        master_key: keys.fingerprint ? { ...masterKey, fingerprint: keys.fingerprint } : masterKey,
        ...(plan ? { parent: plan.parent, chain_length: plan.chainLength } : {}),
        ...(opts.preRestore ? { purpose: 'pre-restore' as const, pre_restore: opts.preRestore } : {}),
      };
      emit({ type: 'phase', phase: 'archive', message: `Writing ${path.basename(archivePath)}` });
      const deltaPlan = plan;
      const progress = throttledProgress(emit, totalBytes);
      const checks = startSnapshotChecks(scan.sources, ctx.signal);
      const written = await writeArchive({
        path: archivePath,
        codec,
        codecLevel,
        encryption: password ? { password, iterations } : null,
        metadata,
        extraEntries: keyEntry ? [{ name: KEY_ENTRY, data: keyEntry }] : [],
        files: deltaPlan ? files.map((f) => deltaPlan.entryFor(f)) : files,
        ...(deltaPlan ? { deleted: deltaPlan.deleted(files) } : {}),
        signal: checks.signal,
        beforeCommit: () => checks.passed(),
        ...(opts.onArchiveAppended ? { onAppended: opts.onArchiveAppended } : {}),
        onProgress: (done, source) => progress.update(done, source),
        onFileChanged: (file, onDisk) =>
          warn('FILE_CHANGED', `${file.absPath} changed while it was read (${file.size} bytes expected, ${onDisk} found); its copy may be inconsistent.`),
      }).catch(async (error) => {
        throw (await checks.abandon()) ?? error;
      });
      progress.flush(totalBytes);
      emit({ type: 'phase', phase: 'finalize', message: `Saved ${archivePath}` });
      const durationMs = Date.now() - started;
      emit({ type: 'summary', op: 'create', ok: true, durationMs, bytes: written.bytes });
      return {
        backup: {
          path: archivePath,
          id: metadata.id,
          type: backupType,
          parent_id: metadata.parent_id,
          chain_length: plan?.chainLength ?? 0,
          data_bytes: totalBytes,
          stored_bytes: written.storedBytes,
          bytes: written.bytes,
          created: metadata.created,
          encrypted: opts.encrypt,
          compression: codec.name,
          files: written.files,
          sources: databases,
        },
        masterKey,
        warnings,
        durationMs,
      };
    } finally {
      try {
        await plan?.close();
      } finally {
        if (staging) await fs.rm(staging, { recursive: true, force: true });
        if (!opts.lock) await lock.release();
      }
    }
  } finally {
    password?.fill(0);
  }
}

async function checkHeldLock(lock: DirLock, outputDir: string): Promise<DirLock> {
  if (path.resolve(lock.dir) !== path.resolve(outputDir)) {
    throw new AicoError('INTERNAL', `create was given the lock of ${lock.dir}, but writes to ${outputDir}.`);
  }
  if (!(await lock.isHeld())) {
    throw new AicoError('LOCKED', `The lock on ${outputDir} this backup was to run under is no longer held (its lock file was removed or taken over).`, {
      hint: 'Run the backup again.',
    });
  }
  return lock;
}

/** The parent to build on; with "auto", none (a full backup, said as FULL_INSTEAD) when there is no usable one. */
async function openPlan(
  opts: CreateOptions,
  requested: Exclude<RequestedType, 'full'>,
  password: Buffer | null,
  fingerprint: string | null,
  warn: (code: WarningCode, message: string) => void,
  signal?: AbortSignal,
): Promise<DeltaPlan | null> {
  const type = requested === 'auto' ? 'incremental' : requested;
  try {
    return await openDeltaPlan({
      type, parent: opts.parent ?? null, outputDir: opts.parentDir ?? opts.outputDir, password, home: opts.home,
      ...(fingerprint ? { fingerprint } : {}), ...(opts.now ? { before: opts.now.toISOString() } : {}), maxChain: opts.maxChain, warn, signal,
    });
  } catch (error) {
    if (requested !== 'auto' || !(error instanceof AicoError) || !['NO_PARENT', 'PARENT_MISMATCH', 'CHAIN_TOO_LONG'].includes(error.code)) throw error;
    warn('FULL_INSTEAD', `Making a full backup: ${error.message}`);
    return null;
  }
}

function noData(home: string): AicoError {
  return new AicoError('NOT_FOUND', `No AICO data found in ${home}.`, {
    hint: 'Point --home (or $AICO_HOME) at the AICO data directory, or seed a sample with "aico demo seed".',
  });
}

async function requirePassword(provider: CreateOptions['password']): Promise<Buffer> {
  if (!provider) throw passwordRequired('create');
  const password = await provider();
  if (password.length === 0) throw new AicoError('PASSWORD_REQUIRED', 'The password is empty.');
  return password;
}
