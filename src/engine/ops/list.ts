import { formatVersionOf, readMetadata } from '../archive/inspect.js';
import { ArchiveReader } from '../archive/reader.js';
import { isAicoError } from '../errors.js';
import { joinLocation, nameOf, storeFor } from '../store/index.js';
import { noopSink, type OperationContext } from '../events.js';

export interface BackupEntry {
  path: string;
  name: string;
  bytes: number;
  encrypted: boolean;
  id: string | null;
  created: string | null;
  type: string | null;
  parent_id: string | null;
  /**
   * Archive format version, as in info: metadata.backup_version, or for an
   * encrypted archive its container version, which always equals it.
   */
  format_version: number | null;
  /** Version of the encrypted container; null for unencrypted archives. */
  container_version: number | null;
  /** Encrypted: from the file name, since the data needs the password. */
  compression: string | null;
  /** Only for unencrypted archives (encrypted ones reveal nothing without the password). */
  sources: string[] | null;
  /**
   * "backup" for an ordinary backup; "pre-restore" for the safety backup a
   * restore made of what it replaced. From metadata.purpose, else (encrypted
   * archives, whose metadata needs the password) the file name's label.
   */
  purpose: string;
  /** The file name of the backup this one builds on, when it is in the same directory; null for a full backup or a missing parent. */
  parent_name: string | null;
  /**
   * Incremental and differential: whether every backup it builds on, down to
   * its full backup, is in the directory and readable (as far as list can
   * tell without the password); null for a full backup.
   */
  chain_intact: boolean | null;
  /** Set when the file could not be read; the other fields are then partly null. */
  problem: { code: string; message: string } | null;
}

export interface ListResult {
  dir: string;
  backups: BackupEntry[];
}

/**
 * Lists the archives in a directory, newest first. Encrypted archives are
 * described from their public header alone (no password); a damaged file is
 * listed with its problem instead of failing the whole listing.
 */
/** Archives described at the same time by `list`. */
const LIST_CONCURRENCY = 16;

export async function list(opts: { dir: string }, ctx: OperationContext = {}): Promise<ListResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  emit({ type: 'start', op: 'list', path: opts.dir });
  // Names from the store (a directory listing, or one LIST request per 1000 objects of a bucket).
  const archives = await storeFor(opts.dir).names(ctx.signal);
  // A few archives at a time: each is an open, a read or two and a close, mostly waiting on the
  // disk (500 one after another took 0.3 s of a 0.57 s listing) or on the network.
  const backups: BackupEntry[] = new Array(archives.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < archives.length; i = next++) backups[i] = await describe(joinLocation(opts.dir, archives[i]!), archives[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, archives.length) }, worker));
  backups.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || b.name.localeCompare(a.name));
  linkChains(backups);
  // Damaged files are entries with a problem, not a failed listing.
  emit({ type: 'summary', op: 'list', ok: true, durationMs: Date.now() - started });
  return { dir: opts.dir, backups };
}

/** One archive as list describes it (no password needed); damage is the entry's `problem`, not an error. */
export async function describe(file: string, name: string = nameOf(file)): Promise<BackupEntry> {
  const entry: BackupEntry = {
    path: file,
    name,
    bytes: 0,
    encrypted: name.endsWith('.enc'),
    id: null,
    created: null,
    type: null,
    parent_id: null,
    format_version: null,
    container_version: null,
    compression: null,
    sources: null,
    purpose: purposeOf(name),
    parent_name: null,
    chain_intact: null,
    problem: null,
  };
  try {
    const peek = await ArchiveReader.peekHeader(file);
    entry.bytes = peek.size;
    entry.encrypted = peek.encrypted;
    if (peek.header) {
      const h = peek.header.header;
      const version = peek.header.version;
      Object.assign(entry, { id: h.id, created: h.created, type: h.backup_type, parent_id: h.parent_id, format_version: version, container_version: version });
      entry.compression = /\.tar\.(zst|gz|lz4)\.enc$/.exec(name)?.[1]?.replace('zst', 'zstd').replace('gz', 'gzip') ?? 'none';
      // Described from its header, and said to be cut off or appended to when its size is not the header's.
      if (peek.damage) entry.problem = { code: peek.damage.code, message: peek.damage.message };
      return entry;
    }
    const reader = await ArchiveReader.open(file, null);
    try {
      const { metadata } = await readMetadata(reader);
      const version = metadata.backup_version;
      Object.assign(entry, {
        id: metadata.id,
        created: metadata.created,
        type: metadata.backup_type,
        parent_id: metadata.parent_id,
        format_version: Number.isInteger(version) && version >= 1 ? version : null,
        compression: reader.codec.name,
        sources: Object.keys(metadata.databases ?? {}),
        purpose: typeof metadata.purpose === 'string' ? metadata.purpose : entry.purpose,
      });
      // After the fields: a newer format is still described, with its problem.
      formatVersionOf(metadata);
    } finally {
      await reader.close();
    }
  } catch (error) {
    entry.problem = isAicoError(error)
      ? { code: error.code, message: error.message }
      : { code: 'IO_ERROR', message: (error as Error).message };
  }
  return entry;
}

/** Fills parent_name and chain_intact from the ids and parent ids list read (no password needed). */
function linkChains(backups: BackupEntry[]): void {
  const byId = new Map<string, BackupEntry>();
  for (const b of backups) if (b.id && !byId.has(b.id)) byId.set(b.id, b);
  for (const b of backups) {
    if (!b.parent_id) continue;
    b.parent_name = byId.get(b.parent_id)?.name ?? null;
    let intact = true;
    const seen = new Set<string>();
    for (let link: BackupEntry | undefined = b; link?.parent_id; ) {
      const parent = byId.get(link.parent_id);
      if (!parent || parent.problem || seen.has(parent.id!)) {
        intact = false;
        break;
      }
      seen.add(parent.id!);
      link = parent;
    }
    b.chain_intact = intact && !b.problem;
  }
}

const LABEL_RE = /^aico-backup-\d{8}-\d{6}(?:-\d+)?-([a-z][a-z-]*)\.tar/;

/** What an archive name's label says it is for: "pre-restore", or "backup" for an unlabelled (ordinary) one. */
export function purposeOf(name: string): string {
  return LABEL_RE.exec(name)?.[1] ?? 'backup';
}
