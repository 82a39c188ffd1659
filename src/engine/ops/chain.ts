import path from 'node:path';
import { closeLinks, linkProblems, openLink, type ChainLink } from '../archive/chain-link.js';
import type { PasswordProvider } from '../archive/reader.js';
import { AicoError } from '../errors.js';
import { list, type BackupEntry } from './list.js';

export { closeLinks, openLink, type ChainLink } from '../archive/chain-link.js';

/** Asks once, however many links a chain has; each caller gets its own copy (readers zero what they are given). */
export function askOnce(provider: PasswordProvider | null | undefined): PasswordProvider | null {
  if (!provider) return null;
  let asked: Promise<Buffer> | null = null;
  return async () => Buffer.from(await (asked ??= provider()));
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
  // A missing backup is put back; a damaged or replaced one is replaced by a good copy of it.
  const remedy = 'missing' in details ? `Put the missing backup back into ${dir}` : `Put a good copy of that backup into ${dir} in its place`;
  return new AicoError('CHAIN_BROKEN', message, {
    hint: intact.length
      ? `Restore points in ${dir} that do not need it: ${intact.slice(0, 8).join(', ')}${intact.length > 8 ? `, and ${intact.length - 8} more` : ''}. ${remedy} to use this one.`
      : `No backup in ${dir} can be restored without it. ${remedy}.`,
    details: { ...details, intact },
  });
}

/**
 * Opens every backup a restore point builds on, newest first, down to its
 * full backup, looking for each parent by id in the directory of the point,
 * and checks each link (id, the parent's manifest and block hashes as
 * recorded, the blocks taken from it) before anything is read in full. The
 * directory is listed once (ids and parent ids need no password), and the
 * links it names are opened at the same time (each derives its own key). The
 * first link is `first`, already open. On failure every other link is closed.
 */
export async function resolveChain(first: ChainLink, password: PasswordProvider | null, signal?: AbortSignal): Promise<ChainLink[]> {
  const dir = path.dirname(first.path);
  const links = [first];
  if (!first.metadata.parent_id) return links;
  const { backups } = await list({ dir });
  const byId = new Map<string, BackupEntry>();
  for (const b of backups) if (b.id && (!byId.has(b.id) || byId.get(b.id)!.problem)) byId.set(b.id, b);
  // What list says the chain is; each link is still checked against what its child recorded.
  const expected: BackupEntry[] = [];
  for (let id = first.metadata.parent_id as string | null; id && byId.has(id) && expected.length < 10_000; id = byId.get(id)!.parent_id) {
    if (expected.some((b) => b.id === id)) break;
    expected.push(byId.get(id)!);
  }
  const opening = expected.map((b) => openLink(b.path, password, signal));
  for (const o of opening) o.catch(() => {});
  try {
    for (let link = first, k = 0; link.metadata.parent_id; k++) {
      const want = link.metadata.parent;
      const name = path.basename(link.path);
      if (!want || want.id !== link.metadata.parent_id) {
        throw new AicoError('CORRUPT_ARCHIVE', `${name} is a ${link.metadata.backup_type} backup without a complete parent link.`, { hint: 'Use another copy of this backup.' });
      }
      if (links.some((l) => l.metadata.id === want.id)) {
        throw new AicoError('CORRUPT_ARCHIVE', `The chain of ${path.basename(first.path)} loops back to ${want.id}.`);
      }
      const found = expected[k]?.id === want.id ? expected[k]! : null;
      if (!found) {
        throw await broken(dir, `${name} builds on ${want.name} (${want.id}, ${want.backup_type} of ${want.created}), which is not in ${dir}.`, want.id, {
          missing: { id: want.id, name: want.name },
        });
      }
      let parent: ChainLink;
      try {
        parent = await opening[k]!;
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
    const opened = await Promise.allSettled(opening);
    await closeLinks(opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])));
    throw error;
  }
}
