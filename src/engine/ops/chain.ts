import path from 'node:path';
import { readBlockIndex, type BlockIndex } from '../archive/block-index.js';
import { storedAs } from '../archive/delta-blocks.js';
import { formatVersionOf, readMetadata } from '../archive/inspect.js';
import { BLOCK_HASH_BYTES } from '../archive/layout.js';
import type { Metadata } from '../archive/metadata.js';
import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import { AicoError } from '../errors.js';
import { list, type BackupEntry } from './list.js';

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

/** Asks once, however many links a chain has; each caller gets its own copy (readers zero what they are given). */
export function askOnce(provider: PasswordProvider | null | undefined): PasswordProvider | null {
  if (!provider) return null;
  let asked: Promise<Buffer> | null = null;
  return async () => Buffer.from(await (asked ??= provider()));
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

/** The archive in `dir` with backup id `id`, as list describes it (no password needed), or null. */
export async function findById(dir: string, id: string): Promise<BackupEntry | null> {
  const { backups } = await list({ dir });
  return backups.find((b) => b.id === id && !b.problem) ?? backups.find((b) => b.id === id) ?? null;
}

/** The backups in `dir` that do not build on `missingId`, directly or through others: the restore points still intact. */
async function intactPoints(dir: string, missingId: string): Promise<string[]> {
  const { backups } = await list({ dir });
  const byId = new Map(backups.filter((b) => b.id).map((b) => [b.id!, b]));
  const intact = (b: BackupEntry, depth = 0): boolean => {
    if (b.problem || depth > 1000) return false;
    if (!b.parent_id) return true;
    if (b.parent_id === missingId) return false;
    const parent = byId.get(b.parent_id);
    return parent ? intact(parent, depth + 1) : false;
  };
  return backups.filter((b) => b.id !== missingId && intact(b)).map((b) => b.name);
}

async function broken(dir: string, message: string, missingId: string, details: Record<string, unknown>): Promise<AicoError> {
  const intact = await intactPoints(dir, missingId).catch(() => []);
  return new AicoError('CHAIN_BROKEN', message, {
    hint: intact.length
      ? `Restore points in ${dir} that do not need it: ${intact.slice(0, 8).join(', ')}${intact.length > 8 ? `, and ${intact.length - 8} more` : ''}. Put the missing backup back into ${dir} to use this one.`
      : `No backup in ${dir} can be restored without it. Put the missing backup back into ${dir}.`,
    details: { ...details, intact },
  });
}

/**
 * Opens every backup a restore point builds on, newest first, down to its
 * full backup, looking for each parent by id in the directory of the point,
 * and checks each link (id, the parent's manifest and block hashes as
 * recorded, the blocks taken from it) before anything is read in full. The
 * first link is `first`, already open. On failure every link is closed.
 */
export async function resolveChain(first: ChainLink, password: PasswordProvider | null, signal?: AbortSignal): Promise<ChainLink[]> {
  const dir = path.dirname(first.path);
  const links = [first];
  try {
    for (let link = first; link.metadata.parent_id; ) {
      const want = link.metadata.parent;
      const name = path.basename(link.path);
      if (!want || want.id !== link.metadata.parent_id) {
        throw new AicoError('CORRUPT_ARCHIVE', `${name} is a ${link.metadata.backup_type} backup without a complete parent link.`, { hint: 'Use another copy of this backup.' });
      }
      if (links.length > 10_000 || links.some((l) => l.metadata.id === want.id)) {
        throw new AicoError('CORRUPT_ARCHIVE', `The chain of ${path.basename(first.path)} loops back to ${want.id}.`);
      }
      const found = await findById(dir, want.id);
      if (!found) {
        throw await broken(dir, `${name} builds on ${want.name} (${want.id}, ${want.backup_type} of ${want.created}), which is not in ${dir}.`, want.id, {
          missing: { id: want.id, name: want.name },
        });
      }
      let parent: ChainLink;
      try {
        parent = await openLink(found.path, password, signal);
      } catch (error) {
        if (error instanceof AicoError && (error.code === 'WRONG_PASSWORD' || error.code === 'PASSWORD_REQUIRED' || error.code === 'CANCELLED')) throw error;
        throw await broken(dir, `${found.name}, which ${name} builds on, cannot be read: ${(error as Error).message}`, want.id, { damaged: { id: want.id, name: found.name } });
      }
      links.push(parent);
      if (parent.index.manifestSha256 !== want.manifest_sha256 || parent.index.blocksSha256 !== want.blocks_sha256 || parent.metadata.id !== want.id) {
        throw await broken(dir, `${found.name} has the id ${name} builds on, but is not the backup it was made from (its manifest differs).`, want.id, {
          damaged: { id: want.id, name: found.name },
        });
      }
      const problems = linkProblems(link.index, parent.index);
      if (problems.length > 0) {
        throw await broken(dir, `${name} does not fit ${found.name}: ${problems[0]!.message}`, want.id, { damaged: { id: want.id, name: found.name } });
      }
      link = parent;
    }
    return links;
  } catch (error) {
    await closeLinks(links.slice(1));
    throw error;
  }
}
