import type { PlannedFile } from '../archive/writer.js';
import type { WarningCode } from '../codes.js';

/** What every database adapter gets when asked for a snapshot. */
export interface SnapshotContext {
  /** The AICO home. */
  home: string;
  /** The database's own location in the home (file or directory, absolute). */
  location: string;
  /** A private, empty directory on the output's filesystem for staged copies; the caller removes it. */
  staging: string;
  /** Copy a store that is in use anyway, marking it inconsistent (--allow-live). */
  allowLive: boolean;
  /** Key the libSQL database is opened with (hex), when known. */
  libsqlKey: string | null;
  signal?: AbortSignal;
  warn(code: WarningCode, message: string): void;
  /** Test seam: runs while a database's read snapshot is held, before it is released. */
  onReadSnapshotHeld?(): Promise<void>;
}

/** Counts a database reports about itself, recorded in metadata.json and compared on validation. */
export interface DatabaseCounts {
  /** libSQL: tables and rows per table. */
  tables?: Record<string, number>;
  /** Chroma: records per collection. */
  collections?: Record<string, number>;
  /** LMDB / RocksDB: key-value entries. */
  entries?: number;
}

export interface SnapshotStats extends DatabaseCounts {
  encrypted: boolean;
  /** False only when copied while in use (--allow-live). */
  consistent: boolean;
  /** How the copy was taken, e.g. "wal-checkpoint+copy", "lmdb-backup", "checkpoint", "stopped-copy". */
  method: string;
  snapshot_ms: number;
  /** libSQL: how long writers were blocked (0 in WAL mode: the snapshot is a read transaction). */
  writer_block_ms?: number;
  /** libSQL: how long the read snapshot was held open (checkpoints cannot pass it meanwhile). */
  read_snapshot_ms?: number;
}

export interface SourceSnapshot {
  /** Files to archive, with archive paths relative to the source's archive directory. */
  files: { absPath: string; relPath: string; size: number; mode: number; mtime: Date }[];
  stats: SnapshotStats;
  /**
   * A slower check of the staged copy (e.g. one that reads every page) that
   * may run while the archive is written; the archive is kept only if it passes.
   */
  check?: (signal?: AbortSignal) => Promise<ValidationResult>;
}

export interface ValidationResult {
  ok: boolean;
  counts: DatabaseCounts;
  /** What is wrong, in words a user can act on. */
  problems: string[];
}

export interface DatabaseAdapter {
  /** Name in metadata and on the command line: libsql, chromadb, lmdb, rocksdb. */
  name: string;
  /** Whether this kind of database is at `location`. */
  detect(location: string): Promise<boolean>;
  snapshot(ctx: SnapshotContext): Promise<SourceSnapshot>;
  /** Opens a copy at `location` with the real engine and checks it. */
  validate(location: string, opts: { libsqlKey: string | null; signal?: AbortSignal; warn?(code: WarningCode, message: string): void }): Promise<ValidationResult>;
}

export type { PlannedFile };
