import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ParentLink } from '../archive/metadata.js';
import { newestNameFirst } from '../archive/naming.js';
import { ArchiveReader, DAMAGE_CODES } from '../archive/reader.js';
import type { DeltaFile, PlannedFile } from '../archive/writer.js';
import { AicoError, isAicoError } from '../errors.js';
import { closeLinks, findById, openLink, type ChainLink } from './chain.js';
import type { DeltaPlan, DeltaRequest } from './create-type.js';
import { describe, purposeOf } from './list.js';
import { isRemote, joinLocation, nameOf, storeFor } from '../store/index.js';

/** Sources whose files are staged copies, which do not change while the archive is written. */
const DATABASE_SOURCES = new Set(['libsql', 'chromadb', 'lmdb', 'rocksdb']);

export const DEFAULT_MAX_CHAIN = 14;

/**
 * The parent of an incremental (the newest backup of the same home in the
 * output directory) or differential (the newest full one), or the one the
 * user named, opened with the backup's password; its block index is read
 * from its tail only (docs/FORMAT.md §10), never its payload.
 */
export async function openDeltaPlan(request: DeltaRequest): Promise<DeltaPlan> {
  const parent = request.parent ? await namedParent(request) : await newestParent(request);
  try {
    return planOn(parent, request);
  } catch (error) {
    await closeLinks([parent]);
    throw error;
  }
}

function planOn(parent: ChainLink, request: DeltaRequest): DeltaPlan {
  const m = parent.metadata;
  const chainLength = request.type === 'differential' ? 1 : (m.chain_length ?? 0) + 1;
  const max = request.maxChain ?? DEFAULT_MAX_CHAIN;
  if (chainLength > max) {
    throw new AicoError('CHAIN_TOO_LONG', `An incremental on ${path.basename(parent.path)} would be link ${chainLength} of its chain; the limit is ${max}.`, {
      hint: 'Make a full backup (or --type auto, which does when the chain is full), consolidate the chain (aico backup consolidate), or raise the limit with --max-chain.',
    });
  }
  const link: ParentLink = {
    id: m.id,
    created: m.created,
    backup_type: m.backup_type,
    name: path.basename(parent.path),
    manifest_sha256: parent.index.manifestSha256,
    blocks_sha256: parent.index.blocksSha256,
  };
  return {
    parentId: m.id,
    parent: link,
    chainLength,
    entryFor: (file: PlannedFile): DeltaFile => ({
      ...file,
      parentHashes: parent.index.files.get(file.archivePath)?.hashes ?? null,
      blockwise: DATABASE_SOURCES.has(file.source),
    }),
    deleted: (files) => {
      const now = new Set(files.map((f) => f.archivePath));
      return [...parent.index.files.keys()].filter((p) => !now.has(p));
    },
    close: () => closeLinks([parent]),
  };
}

const sameHome = (a: string, b: string) => path.resolve(a) === path.resolve(b);

/** Opens a candidate parent and refuses one that cannot serve: another home, encryption or master key. */
async function openCandidate(file: string, request: DeltaRequest): Promise<ChainLink> {
  const name = path.basename(file);
  const peek = await ArchiveReader.peekHeader(file);
  if (peek.encrypted !== (request.password !== null)) {
    throw new AicoError('PARENT_MISMATCH', `${name} ${peek.encrypted ? 'is encrypted and this backup is not' : 'is not encrypted and this backup is'}; an incremental or differential backup cannot build on it.`, {
      hint: 'A chain is encrypted throughout or not at all: make a full backup (--type full, or --type auto, which falls back to one).',
    });
  }
  const link = await openLink(file, request.password ? async () => Buffer.from(request.password!) : null, request.signal).catch((error) => {
    if (isAicoError(error, 'WRONG_PASSWORD')) {
      throw new AicoError('PARENT_MISMATCH', `${name}, the backup to build on, does not open with this password.`, {
        hint: 'A chain uses one password: give the password of that backup, or make a full backup (--type full, or --type auto).',
      });
    }
    throw error;
  });
  const m = link.metadata;
  const why = !sameHome(m.home, request.home)
    ? `is a backup of ${m.home}, not of ${request.home}`
    : request.fingerprint && m.master_key?.fingerprint && m.master_key.fingerprint !== request.fingerprint
        ? 'was made with another AICO master key than the one in use now'
        : null;
  if (why) {
    await closeLinks([link]);
    throw new AicoError('PARENT_MISMATCH', `${name} ${why}; an incremental or differential backup cannot build on it.`, {
      hint: 'Make a full backup (--type full, or --type auto, which falls back to one).',
    });
  }
  return link;
}

async function namedParent(request: DeltaRequest): Promise<ChainLink> {
  const given = request.parent!;
  const file = isRemote(given) || existsSync(given) ? given : (await findById(request.outputDir, given))?.path;
  if (!file) {
    throw new AicoError('NO_PARENT', `No backup "${given}" (as a file, or as a backup id in ${request.outputDir}).`, {
      hint: 'Name the parent by its path or its id (aico backup list shows ids).',
    });
  }
  const link = await openCandidate(file, request);
  if (request.before && link.metadata.created >= request.before) {
    await closeLinks([link]);
    throw new AicoError('PARENT_MISMATCH', `${nameOf(file)} was made at ${link.metadata.created}, not before this backup's time ${request.before}; a backup builds on an older one.`, {
      hint: 'Give a later --time, or name an older parent.',
    });
  }
  if (request.type === 'differential' && link.metadata.backup_type !== 'full') {
    await closeLinks([link]);
    throw new AicoError('USAGE', `A differential backup builds on a full backup; ${nameOf(file)} is ${link.metadata.backup_type}.`);
  }
  return link;
}

/** What makes a candidate parent unusable, said as PARENT_SKIPPED rather than failing the backup: damage, or a format this version cannot read. */
const UNUSABLE: readonly string[] = [...DAMAGE_CODES, 'UNSUPPORTED_FORMAT'];

/**
 * Candidates newest first: ordinary backups (not pre-restore safety copies,
 * which hold a home as it was replaced) that list can describe, encrypted
 * if this one is; for a differential only full ones. A candidate of another
 * home is passed over; damage is passed over too (the newest *valid*
 * backup), and said.
 */
async function newestParent(request: DeltaRequest): Promise<ChainLink> {
  // Newest first by the name, which create makes from the backup's time: the archives are described one
  // at a time until one serves, not all of them (a year of daily backups made each new one list 365).
  const names = (await storeFor(request.outputDir).names(request.signal)).filter((n) => purposeOf(n) === 'backup').sort(newestNameFirst);
  const passed: string[] = [];
  // A chain is encrypted throughout or not at all: backups of the other kind are passed over.
  const encrypted = request.password !== null;
  for (const name of names) {
    const candidate = await describe(joinLocation(request.outputDir, name));
    if (candidate.purpose !== 'backup' || !candidate.id) continue;
    if (request.type === 'differential' && candidate.type !== 'full') continue;
    if (request.before && (candidate.created ?? '') >= request.before) continue;
    if (candidate.problem) {
      // Damage list already sees from the header (a cut-off copy): passed over and said, as when opening finds it.
      if (UNUSABLE.includes(candidate.problem.code)) {
        request.warn?.('PARENT_SKIPPED', `${candidate.name} was not used as the parent: ${candidate.problem.message}`);
        passed.push(`${candidate.name} (${candidate.problem.code})`);
      }
      continue;
    }
    if (candidate.encrypted !== encrypted) {
      if (passed.length < 3) passed.push(`${candidate.name} (${candidate.encrypted ? 'encrypted' : 'not encrypted'})`);
      continue;
    }
    try {
      return await openCandidate(candidate.path, request);
    } catch (error) {
      if (isAicoError(error, 'PARENT_MISMATCH') && /is a backup of /.test(error.message)) {
        passed.push(`${candidate.name} (another home)`);
        continue;
      }
      if (isAicoError(error) && UNUSABLE.includes(error.code)) {
        request.warn?.('PARENT_SKIPPED', `${candidate.name} was not used as the parent: ${error.message}`);
        passed.push(`${candidate.name} (${error.code})`);
        continue;
      }
      throw error;
    }
  }
  const what = request.type === 'differential' ? 'full backup' : 'backup';
  throw new AicoError('NO_PARENT', `No ${what} of ${request.home} in ${request.outputDir} to build ${request.type === 'incremental' ? 'an' : 'a'} ${request.type} backup on${passed.length ? ` (passed over: ${passed.join(', ')})` : ''}.`, {
    hint: 'Make a full backup first (--type full), or use --type auto, which makes a full backup when there is nothing to build on.',
  });
}
