import type { CodecName } from '../codec/types.js';

/** metadata.json, the first tar entry (docs/FORMAT.md). */
export interface Metadata {
  backup_version: number;
  tool: { name: 'aico-backup'; version: string };
  id: string;
  created: string;
  backup_type: 'full' | 'incremental' | 'differential';
  parent_id: string | null;
  encryption:
    | { enabled: true; cipher: 'aes-256-gcm-stream'; kdf: 'pbkdf2-hmac-sha256'; iterations: number; segment_size: number }
    | { enabled: false };
  compression: { algorithm: CodecName; level: number | null; codec_level: number | null; chunk_size: number };
  databases: Record<string, SourceStats>;
  platform: { os: string; arch: string; node: string };
  home: string;
  /** Whether encryption_key.enc holds the AICO master key, and where it was read from. */
  master_key?: { included: boolean; source: 'keyring' | 'env' | 'none'; fingerprint?: string };
  /** Format 2: the backup this one builds on (parent_id is its id). */
  parent?: ParentLink;
  /** Format 2: links between this backup and its full backup (1 for a delta on a full). */
  chain_length?: number;
  /** A full backup written by `consolidate`: the restore point and the chain it was put together from, newest first. */
  consolidated_from?: { id: string; name: string; backup_type: string }[];
  /** Why the archive was written; absent for an ordinary backup. Matches the file name's label. */
  purpose?: 'pre-restore';
  /** A pre-restore safety backup: the restore it was taken before, and which units it saves. */
  pre_restore?: PreRestore;
}

/** How a delta names its parent: enough to find it and to know it is the very same archive. */
export interface ParentLink {
  id: string;
  created: string;
  backup_type: 'full' | 'incremental' | 'differential';
  /** The parent's file name when this backup was made (a hint: links are found by id). */
  name: string;
  /** SHA-256 of the parent's manifest.json entry and of its manifest.blocks entry. */
  manifest_sha256: string;
  blocks_sha256: string;
}

export interface PreRestore {
  /** Path of the archive being restored. */
  archive: string;
  archive_id: string;
  /** The directory restored into, whose data this archive holds. */
  target: string;
  /** Restore units replaced (libsql, chromadb, working, config, ...). */
  units: string[];
}

export interface SourceStats {
  kind: 'database' | 'config' | 'extra';
  /** Path inside the archive under which this source's files live. */
  archive_path: string;
  size_bytes: number;
  files: number;
  encrypted: boolean;
  consistent: boolean;
  method: string;
  /** Databases: counts the engine reported for the snapshot, compared again on restore. */
  tables?: Record<string, number>;
  collections?: Record<string, number>;
  entries?: number;
  snapshot_ms?: number;
  /** libSQL (and an encrypted LMDB): how long other writers were blocked while the copy was taken. */
  writer_block_ms?: number;
  /** libSQL: how long its read snapshot was held open. */
  read_snapshot_ms?: number;
  /** libSQL: PBKDF2 iterations its key was derived with from the master key (AICO's setting at backup time). */
  kdf_iterations?: number;
}

/** One file in manifest.json. Hashes are inside the encryption when the archive is encrypted. */
export interface ManifestFile {
  path: string;
  source: string;
  size: number;
  mode: number;
  mtime: string;
  sha256: string;
  block_size: number;
  /** Index (in hashes) of this file's first block hash in manifest.blocks. */
  blocks_offset: number;
  blocks_count: number;
  /**
   * Format 2: where the content is. "whole": the entry `path`; "blocks": the
   * entry `blocks/<path>` holds the `changed` blocks, every other block is the
   * parent's; "parent": the parent's file, unchanged. Absent means "whole".
   */
  stored?: StoredAs;
  /** Format 2, "blocks": [first block, count] runs, ascending, not touching. */
  changed?: [number, number][];
}

export type StoredAs = 'whole' | 'blocks' | 'parent';

export interface Manifest {
  format: number;
  block_hash: 'sha256';
  /** SHA-256 of the metadata.json entry, so unencrypted archives can check it too. */
  metadata_sha256: string;
  files: ManifestFile[];
  /** Format 2: paths of the parent's files that this backup no longer has. */
  deleted?: string[];
}
