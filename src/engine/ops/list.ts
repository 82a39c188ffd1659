import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readMetadata } from '../archive/inspect.js';
import { isArchiveName } from '../archive/naming.js';
import { ArchiveReader } from '../archive/reader.js';
import { AicoError, isAicoError } from '../errors.js';
import type { OperationContext } from '../events.js';

export interface BackupEntry {
  path: string;
  name: string;
  bytes: number;
  encrypted: boolean;
  id: string | null;
  created: string | null;
  type: string | null;
  parent_id: string | null;
  format_version: number | null;
  compression: string | null;
  /** Only for unencrypted archives (encrypted ones reveal nothing without the password). */
  sources: string[] | null;
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
export async function list(opts: { dir: string }, ctx: OperationContext = {}): Promise<ListResult> {
  ctx.onEvent?.({ type: 'start', op: 'list', path: opts.dir });
  let names: string[];
  try {
    names = await fs.readdir(opts.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { dir: opts.dir, backups: [] };
    throw new AicoError('IO_ERROR', `Cannot read ${opts.dir}: ${(error as Error).message}`);
  }
  const backups: BackupEntry[] = [];
  for (const name of names.filter(isArchiveName)) {
    backups.push(await describe(path.join(opts.dir, name), name));
  }
  backups.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || b.name.localeCompare(a.name));
  return { dir: opts.dir, backups };
}

async function describe(file: string, name: string): Promise<BackupEntry> {
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
    compression: null,
    sources: null,
    problem: null,
  };
  try {
    const peek = await ArchiveReader.peekHeader(file);
    entry.bytes = peek.size;
    entry.encrypted = peek.encrypted;
    if (peek.header) {
      const h = peek.header.header;
      Object.assign(entry, { id: h.id, created: h.created, type: h.backup_type, parent_id: h.parent_id, format_version: peek.header.version });
      entry.compression = /\.tar\.(zst|gz|lz4)\.enc$/.exec(name)?.[1]?.replace('zst', 'zstd').replace('gz', 'gzip') ?? 'none';
      return entry;
    }
    const reader = await ArchiveReader.open(file, null);
    try {
      const { metadata } = await readMetadata(reader);
      Object.assign(entry, {
        id: metadata.id,
        created: metadata.created,
        type: metadata.backup_type,
        parent_id: metadata.parent_id,
        format_version: metadata.backup_version,
        compression: reader.codec.name,
        sources: Object.keys(metadata.databases ?? {}),
      });
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
