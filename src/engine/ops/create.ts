import { randomUUID } from 'node:crypto';
import { arch, platform } from 'node:os';
import { getCodec } from '../codec/index.js';
import { sealKeyFile } from '../keys/key-file.js';
import { KEYRING_SERVICE, MASTER_KEY_ACCOUNT, type Keyring } from '../keys/keyring.js';
import { resolveMasterKey, type MasterKeySource } from '../keys/master-key.js';
import type { CodecName } from '../codec/types.js';
import { archiveName, freeArchivePath } from '../archive/naming.js';
import { CHUNK_SIZE, FORMAT_VERSION, KEY_ENTRY, SEGMENT_SIZE } from '../archive/layout.js';
import type { Metadata, SourceStats } from '../archive/metadata.js';
import { writeArchive } from '../archive/writer.js';
import { MIN_PBKDF2_ITERATIONS } from '../crypto/kdf.js';
import { AicoError, throwIfAborted } from '../errors.js';
import { noopSink, throttledProgress, type OperationContext } from '../events.js';
import { acquireDirLock } from '../fsutil/lock.js';
import { ensurePrivateDir } from '../fsutil/atomic-file.js';
import { selectSources } from '../sources/catalog.js';
import { scanSources } from '../sources/scan.js';
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
  now?: Date;
}

export interface CreateResult {
  backup: {
    path: string;
    id: string;
    type: 'full';
    bytes: number;
    created: string;
    encrypted: boolean;
    compression: CodecName;
    files: number;
    sources: Record<string, SourceStats>;
  };
  /** Where the master key came from; `included` when encryption_key.enc holds it. */
  masterKey: { source: MasterKeySource; included: boolean };
  warnings: { code: string; message: string }[];
  durationMs: number;
}

/**
 * Creates a full backup of the AICO home.
 *
 * @example
 * const result = await create({ home, outputDir, encrypt: true, password: async () => Buffer.from(pw),
 *   compression: 'zstd', compressionLevel: 3, include: ['libsql', 'config'], exclude: [] }, { onEvent: console.log });
 */
export async function create(opts: CreateOptions, ctx: OperationContext = {}): Promise<CreateResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const warnings: CreateResult['warnings'] = [];
  const warn = (code: string, message: string) => {
    warnings.push({ code, message });
    emit({ type: 'warning', code, message });
  };
  emit({ type: 'start', op: 'create' });
  const codec = getCodec(opts.compression);
  if (!Number.isInteger(opts.compressionLevel) || opts.compressionLevel < 1 || opts.compressionLevel > 9) {
    throw new AicoError('USAGE', `Compression level must be 1..9 (got ${opts.compressionLevel}).`);
  }
  const codecLevel = codec.codecLevel(opts.compressionLevel);

  emit({ type: 'phase', phase: 'scan', message: `Looking for AICO data in ${opts.home}` });
  const defs = selectSources(opts.include, opts.exclude);
  if (defs.length === 0) throw new AicoError('USAGE', 'Nothing selected: --include and --exclude leave no source.');
  const scan = await scanSources(opts.home, defs);
  for (const name of scan.missing) warn('SOURCE_MISSING', `No ${name} data in ${opts.home}; skipped.`);
  for (const s of scan.skipped) warn('FILE_SKIPPED', `Skipped ${s.path} (${s.reason}).`);
  if (scan.sources.length === 0) {
    throw new AicoError('NOT_FOUND', `No AICO data found in ${opts.home}.`, {
      hint: 'Point --home (or $AICO_HOME) at the AICO data directory, or seed a sample with "aico demo seed".',
    });
  }
  const files = scan.sources.flatMap((s) => s.files);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  for (const s of scan.sources) emit({ type: 'item', source: s.name, path: s.stats.archive_path, bytes: s.stats.size_bytes });

  const password = opts.encrypt ? await requirePassword(opts.password) : null;
  let keyEntry: Buffer | null = null;
  let masterKey: CreateResult['masterKey'] = { source: 'none', included: false };
  try {
    if (password) {
      const resolved = await resolveMasterKey(opts.keyring, opts.env);
      masterKey = { source: resolved.source, included: resolved.key !== null };
      if (resolved.key) {
        try {
          keyEntry = await sealKeyFile(resolved.key, password, { service: KEYRING_SERVICE, account: MASTER_KEY_ACCOUNT, iterations: opts.kdfIterations });
        } finally {
          resolved.key.fill(0);
        }
      } else {
        warn(
          'MASTER_KEY_ABSENT',
          resolved.keyringProblem
            ? `${resolved.keyringProblem.message} The backup will not contain the AICO master key. ${resolved.keyringProblem.hint}`
            : 'No AICO master key found (keyring or AICO_MASTER_KEY); the backup will not contain it.',
        );
      }
    } else if (scan.sources.some((s) => s.name === 'libsql')) {
      warn('MASTER_KEY_NOT_INCLUDED', 'An unencrypted backup never holds the AICO master key; the libSQL database in it opens only with that key (keep a copy: aico backup key export FILE).');
    }
    throwIfAborted(ctx.signal);
    await ensurePrivateDir(opts.outputDir);
    const lock = await acquireDirLock(opts.outputDir, 'create');
    if (lock.takeover) warn('STALE_LOCK', lock.takeover);
    try {
      const created = opts.now ?? new Date();
      const path = await freeArchivePath(opts.outputDir, created, codec.extension, opts.encrypt);
      const iterations = opts.kdfIterations ?? MIN_PBKDF2_ITERATIONS;
      const databases = Object.fromEntries(scan.sources.map((s) => [s.name, s.stats]));
      const metadata: Metadata = {
        backup_version: FORMAT_VERSION,
        tool: { name: 'aico-backup', version: TOOL_VERSION },
        id: randomUUID(),
        created: created.toISOString(),
        backup_type: 'full',
        parent_id: null,
        encryption: opts.encrypt
          ? { enabled: true, cipher: 'aes-256-gcm-stream', kdf: 'pbkdf2-hmac-sha256', iterations, segment_size: SEGMENT_SIZE }
          : { enabled: false },
        compression: { algorithm: codec.name, level: codec.name === 'none' ? null : opts.compressionLevel, codec_level: codecLevel, chunk_size: CHUNK_SIZE },
        databases,
        platform: { os: platform(), arch: arch(), node: process.version },
        home: opts.home,
        master_key: masterKey,
      };
      emit({ type: 'phase', phase: 'archive', message: `Writing ${archiveName(created, codec.extension, opts.encrypt)}` });
      const progress = throttledProgress(emit, totalBytes);
      const written = await writeArchive({
        path,
        codec,
        codecLevel,
        encryption: password ? { password, iterations } : null,
        metadata,
        extraEntries: keyEntry ? [{ name: KEY_ENTRY, data: keyEntry }] : [],
        files,
        signal: ctx.signal,
        onProgress: (done, source) => progress.update(done, source),
        onFileChanged: (file, onDisk) =>
          warn('FILE_CHANGED', `${file.absPath} changed while it was read (${file.size} bytes expected, ${onDisk} found); its copy may be inconsistent.`),
      });
      progress.flush(totalBytes);
      emit({ type: 'phase', phase: 'finalize', message: `Saved ${path}` });
      const durationMs = Date.now() - started;
      emit({ type: 'summary', op: 'create', ok: true, durationMs, bytes: written.bytes });
      return {
        backup: {
          path,
          id: metadata.id,
          type: 'full',
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
      await lock.release();
    }
  } finally {
    password?.fill(0);
  }
}

async function requirePassword(provider: CreateOptions['password']): Promise<Buffer> {
  if (!provider) {
    throw new AicoError('PASSWORD_REQUIRED', 'An encrypted backup needs a password and none was given.', {
      hint: 'Use --password-file FILE, --password-stdin or $AICO_BACKUP_PASSWORD, run on a terminal to be asked, or pass --no-encrypt.',
    });
  }
  const password = await provider();
  if (password.length === 0) throw new AicoError('PASSWORD_REQUIRED', 'The password is empty.');
  return password;
}
