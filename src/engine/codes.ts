/**
 * The codes scripts branch on besides the error codes (errors.ts): warnings
 * and verification problems. Each table is the only list there is: emitters
 * take its keys as types (a misspelt code does not compile), and the tables in
 * docs/JSON.md are rendered from it (test/cli/json-doc.test.ts keeps them equal).
 * Meanings are Markdown, written for docs/JSON.md.
 */

export interface WarningDoc {
  /** Which operations raise it. */
  from: string;
  meaning: string;
}

export const WARNING_CODES = {
  LEVEL_IGNORED: {
    from: 'create options (CLI and TUI alike)',
    meaning: '`--compression-level` (or a changed level in the TUI) was given for `lz4` or `none`. Emitted before `start`; also in `warnings[]`',
  },
  MASTER_KEY_ABSENT: {
    from: 'create',
    meaning:
      'an encrypted backup, but no master key was found (keyring empty or unusable, `$AICO_MASTER_KEY` not set): the archive has no `encryption_key.enc`. When the keyring was the problem, the message carries its reason and the way out',
  },
  MASTER_KEY_NOT_INCLUDED: {
    from: 'create',
    meaning:
      'an unencrypted backup with `libsql` selected: an unencrypted archive never holds the master key, and the libSQL database in it opens only with that key. Emitted for the selection, even if the home has no libSQL database',
  },
  SALT_MISSING: {
    from: 'create',
    meaning:
      'a master key was found but `data/aico.db.salt` cannot be read, so the libSQL key cannot be derived (the libSQL snapshot then usually fails with `DATABASE_INVALID`)',
  },
  SYNC_CONFLICT: {
    from: 'sync',
    meaning: 'a backup of the same name is in both places with different sizes; it is left alone in both (backups are never overwritten). Two machines writing the same second, or a damaged copy: compare them with `verify`',
  },
  SYNC_DAMAGED: {
    from: 'sync',
    meaning:
      'a backup the source has is cut off or appended to (its size is not the one its header gives) or its header is incomplete or damaged; it was not copied, so the other place never holds a damaged copy that looks like a second good one. Check it with `verify`; the next sync tries again',
  },
  STALE_LOCK: {
    from: 'create, delete, restore',
    meaning: 'the lock of a dead process (or an unreadable lock file) was taken over',
  },
  ARCHIVE_OPEN: {
    from: 'delete',
    meaning:
      'another process (named by pid and command line) had the backup open when it was removed, or checked under `--dry-run`; it keeps reading its open file, and the space is freed when it closes it. Linux only',
  },
  SOURCE_UNRECOGNISED: {
    from: 'create',
    meaning:
      'a database location exists (e.g. `data/memory/working`) but holds no database the tool recognises; it is skipped and followed by `SOURCE_MISSING` for the same source',
  },
  IN_USE_UNCHECKED: {
    from: 'create (chromadb)',
    meaning:
      '`/proc` cannot be read (not Linux), so whether a process has the Chroma store open was not checked; the copy is still recorded as `consistent: true`',
  },
  LIVE_COPY: {
    from: 'create (chromadb, rocksdb)',
    meaning:
      'the store was open in another process and was copied anyway (`--allow-live`), or (chromadb) a process opened it during the copy; recorded as `consistent: false`, method `live-copy`',
  },
  INTERRUPTED_WRITE: {
    from: 'create (chromadb)',
    meaning:
      '`chroma.sqlite3-journal` or `chroma.sqlite3-wal` exists: a write is in progress or was interrupted. The file is copied along so SQLite can finish or undo it when the copy is opened',
  },
  COUNT_FAILED: {
    from: 'create (chromadb)',
    meaning: 'the records of the copied store could not be counted; `collections` is left out',
  },
  CHROMA_NOT_ISOLATED: {
    from: 'create, restore (chromadb)',
    meaning:
      'the Chroma server that checks a copy (at create only when Chroma left writes unapplied) could not run in a private network namespace, for the reason the message names (not Linux, no `unshare` or `ip`, user namespaces not allowed): it listens on 127.0.0.1 without authentication while the check runs. See [SOURCES.md](SOURCES.md)',
  },
  DATABASE_UNREADABLE: {
    from: 'create (rocksdb)',
    meaning:
      'the copied store could not be read back (e.g. written by a newer RocksDB than the built-in 6.17.3); `entries` is left out, the files are still archived',
  },
  SOURCE_MISSING: {
    from: 'create',
    meaning: 'a selected source has no files in the home (or was not recognised)',
  },
  FILE_SKIPPED: {
    from: 'create',
    meaning: 'a symlink or special file under `config/` or the extras was not backed up',
  },
  FILE_CHANGED: {
    from: 'create',
    meaning: 'a file changed size while it was read; its copy may be inconsistent',
  },
  PARENT_SKIPPED: {
    from: 'create (incremental, differential, auto)',
    meaning: 'a newer backup in the output directory was not used as the parent because it is damaged or of a newer format; the message names it and why. The parent is the newest backup that opens',
  },
  FULL_INSTEAD: {
    from: 'create (`--type auto`)',
    meaning: 'there was no backup to build an incremental on (none, another home, another password or master key, or its chain at the length limit), so a full backup was made; the message says why',
  },
  CLEANUP_FAILED: {
    from: 'schedule run-due',
    meaning: 'the scheduled backup was made, but the retention cleanup after it failed; the message says why. The run still counts as a success',
  },
  SYNC_FAILED: {
    from: 'schedule run-due',
    meaning: 'the scheduled backup was made, but copying the backups to one of the schedule\'s `sync_to` places failed; the message names the place and says why. The run still counts as a success, and the next run copies what is missing',
  },
  NO_MIGRATION_BACKUP: {
    from: 'migrate encrypt',
    meaning: 'no backup was made before the migration (`--no-create-backup`): the plaintext home kept aside is the only way back until `migrate finalize`',
  },
  KEY_NOT_STORED: {
    from: 'migrate encrypt',
    meaning: 'the keyring is not available: the gocryptfs password and master key were not stored; write the master key down (it is shown once)',
  },
  NOT_VALIDATED: {
    from: 'migrate encrypt',
    meaning: "a database of the encrypted copy was compared byte for byte but not opened with its engine (libSQL without AICO's master key)",
  },
  RESTORE_RECOVERED: {
    from: 'restore',
    meaning:
      'the target held the journal of an interrupted restore; it was finished first (rolled back or completed, as `recovered` says), then the restore asked for ran. See [RESTORE.md](RESTORE.md#if-the-machine-dies-in-the-middle)',
  },
  KEY_NOT_IMPORTED: {
    from: 'restore',
    meaning:
      "no keyring, so the backup's master key was not stored in it (`master_key.keyring` is `\"unavailable\"`); not raised when `$AICO_MASTER_KEY` already is that key. The message names the ways out. See [KEYS.md](KEYS.md)",
  },
} as const satisfies Record<string, WarningDoc>;

export type WarningCode = keyof typeof WARNING_CODES;

export interface Warning {
  code: WarningCode;
  message: string;
}

export const VERIFY_PROBLEM_CODES = {
  CHECKSUM_MISMATCH: "a file's SHA-256, or metadata.json's, differs from the manifest",
  BLOCK_HASH_MISMATCH:
    "a file's block hashes differ from its content, a file's `blocks_offset` does not follow the run before it, or manifest.blocks is shorter or **longer** than the manifest's files account for",
  SIZE_MISMATCH: "a tar entry's size differs from the manifest",
  MISSING_ENTRY: 'a manifest file is not in the archive',
  UNEXPECTED_ENTRY: 'an entry is not in the manifest, or is not a regular file',
  DUPLICATE_ENTRY: 'an entry appears twice',
  METADATA_MISMATCH: 'metadata.json disagrees with the encrypted header or with the detected compression',
  LOCATOR_MISMATCH: 'the end marker (locator) does not match the stream',
  LAYOUT: 'metadata.json is not first or is missing, manifest.blocks is missing, or the manifest appears twice with different content',
  PARENT_MISMATCH:
    'an incremental or differential backup does not fit the backup it names as its parent: a block or file it takes from the parent is not there, or the parent is not the very archive it was made from',
} as const satisfies Record<string, string>;

export type VerifyProblemCode = keyof typeof VERIFY_PROBLEM_CODES;
