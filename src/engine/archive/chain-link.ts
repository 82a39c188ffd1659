import { readBlockIndex, type BlockIndex } from './block-index.js';
import { storedAs } from './delta-blocks.js';
import { formatVersionOf, readMetadata } from './inspect.js';
import { BLOCK_HASH_BYTES } from './layout.js';
import type { Metadata } from './metadata.js';
import { ArchiveReader, type PasswordProvider } from './reader.js';

/** One backup of a chain, open: its metadata and block index are read, its payload is not. */
export interface ChainLink {
  path: string;
  reader: ArchiveReader;
  metadata: Metadata;
  index: BlockIndex;
}

/** Opens an archive and reads what a chain needs of it: metadata.json (head) and the block index (tail). */
export async function openLink(file: string, password: PasswordProvider | null, signal?: AbortSignal): Promise<ChainLink> {
  const reader = await ArchiveReader.open(file, password, signal);
  try {
    const { metadata } = await readMetadata(reader);
    formatVersionOf(metadata);
    const index = await readBlockIndex(reader, signal);
    return { path: file, reader, metadata, index };
  } catch (error) {
    await reader.close();
    throw error;
  }
}

export const closeLinks = async (links: ChainLink[]) => {
  await Promise.all(links.map((l) => l.reader.close().catch(() => {})));
};

/** Why `child`'s block index does not build on `parent`'s, or [] when every block it takes from the parent is there (docs/FORMAT.md §18). */
export function linkProblems(child: BlockIndex, parent: BlockIndex): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  for (const { file, hashes } of child.files.values()) {
    const stored = storedAs(file);
    if (stored === 'whole') continue;
    const theirs = parent.files.get(file.path);
    if (!theirs) {
      problems.push({ path: file.path, message: `${file.path} takes blocks from the parent, which has no such file.` });
      continue;
    }
    if (stored === 'parent') {
      if (theirs.file.size !== file.size || !theirs.hashes.equals(hashes)) problems.push({ path: file.path, message: `${file.path} is marked unchanged but differs from the parent's.` });
      continue;
    }
    const changed = new Uint8Array(file.blocks_count);
    for (const [first, count] of file.changed ?? []) changed.fill(1, first, first + count);
    for (let i = 0; i < file.blocks_count; i++) {
      if (changed[i]) continue;
      const at = i * BLOCK_HASH_BYTES;
      if (i >= theirs.file.blocks_count || hashes.compare(theirs.hashes, at, at + BLOCK_HASH_BYTES, at, at + BLOCK_HASH_BYTES) !== 0) {
        problems.push({ path: file.path, message: `${file.path}: block ${i} is taken from the parent, whose block ${i} differs.` });
        break;
      }
    }
  }
  return problems;
}
