/** Names and limits of archive format v1 (docs/FORMAT.md). */
export const FORMAT_VERSION = 1;
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
