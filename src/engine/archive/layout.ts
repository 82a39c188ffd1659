/** Names and limits of the archive formats (docs/FORMAT.md). */
/** Full backups: format 1, so every release since 0.1 reads them. */
export const FORMAT_VERSION = 1;
/** Incremental and differential backups (changed blocks against a parent): format 2. */
export const DELTA_FORMAT_VERSION = 2;
/** The newest format this version reads. */
export const MAX_FORMAT_VERSION = 2;
/** Prefix of the tar entries that hold a file's changed blocks in a format 2 archive. */
export const DELTA_PREFIX = 'blocks/';
export const METADATA_ENTRY = 'metadata.json';
export const MANIFEST_ENTRY = 'manifest.json';
export const BLOCKS_ENTRY = 'manifest.blocks';
export const KEY_ENTRY = 'encryption_key.enc';

/** Tar bytes per compressed frame written by this version. */
export const CHUNK_SIZE = 1 << 20;
/** Readers refuse frames that decode to more than this (decompression bombs). */
export const MAX_FRAME_OUTPUT = 4 << 20;
/** Plaintext bytes per encrypted segment. */
export const SEGMENT_SIZE = 1 << 20;
export const DEFAULT_BLOCK_SIZE = 4096;
export const BLOCK_HASH_BYTES = 32;
/** tar-stream ends an archive with two zero blocks. */
export const TAR_EOF_BYTES = 1024;
