import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import { walkArchive, type VerifyProblem, type WalkHooks } from '../archive/walk.js';
import path from 'node:path';
import { readBlockIndex } from '../archive/block-index.js';
import type { Metadata } from '../archive/metadata.js';
import { noopSink, type OperationContext } from '../events.js';
import { askOnce, closeLinks, resolveChain } from './chain.js';

export type { FileSink, VerifyProblem } from '../archive/walk.js';

export interface VerifyOptions extends WalkHooks {
  path: string;
  password?: PasswordProvider;
  /** Also verify every backup an incremental or differential builds on (default true). */
  chain?: boolean;
}

/** A backup the verified one builds on, verified in full as well. */
export interface VerifiedLink {
  path: string;
  id: string;
  type: string;
  ok: boolean;
  problems: VerifyProblem[];
}

export interface VerifyResult {
  ok: boolean;
  path: string;
  id: string | null;
  encrypted: boolean;
  compression: string;
  files: number;
  bytes: number;
  problems: VerifyProblem[];
  /** The backups it builds on, newest first (empty for a full backup); `ok` covers them too. */
  chain: VerifiedLink[];
  durationMs: number;
}

/**
 * Reads the whole archive (archive/walk.ts): authenticates every segment,
 * decodes every frame, and checks every file against the manifest. Damage
 * that stops reading throws a coded error; mismatches are the result's
 * problems.
 */
export async function verify(opts: VerifyOptions, ctx: OperationContext = {}): Promise<VerifyResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  emit({ type: 'start', op: 'verify', path: opts.path });
  emit({ type: 'phase', phase: 'header', message: 'Checking the header' });
  const password = askOnce(opts.password);
  const reader = await ArchiveReader.open(opts.path, password, ctx.signal);
  try {
    const { manifest, metadata, problems } = await walkArchive(reader, opts, ctx);
    const chain = metadata?.parent_id && problems.length === 0 && opts.chain !== false ? await verifyChain(opts.path, password, reader, metadata, ctx) : [];
    const durationMs = Date.now() - started;
    const ok = problems.length === 0 && chain.every((l) => l.ok);
    emit({ type: 'summary', op: 'verify', ok, durationMs, bytes: reader.fileSize });
    return {
      ok,
      path: opts.path,
      id: metadata?.id ?? reader.header?.header.id ?? null,
      encrypted: reader.encrypted,
      compression: reader.codec.name,
      files: manifest.files.length,
      bytes: reader.fileSize,
      problems,
      chain,
      durationMs,
    };
  } finally {
    await reader.close();
  }
}

/**
 * Every backup the verified one builds on: each link is checked against its
 * parent as a restore checks it (ops/chain.ts), then walked in full.
 */
async function verifyChain(file: string, password: PasswordProvider | null, reader: ArchiveReader, metadata: Metadata, ctx: OperationContext): Promise<VerifiedLink[]> {
  const emit = ctx.onEvent ?? noopSink;
  const index = await readBlockIndex(reader, ctx.signal);
  const links = await resolveChain({ path: file, reader, metadata, index }, password, ctx.signal);
  try {
    const verified: VerifiedLink[] = [];
    for (const link of links.slice(1)) {
      emit({ type: 'phase', phase: 'read', message: `Verifying ${path.basename(link.path)}, which it builds on` });
      const walk = await walkArchive(link.reader, { manifest: { manifest: link.index.manifest, raw: link.index.manifestRaw } }, ctx);
      verified.push({ path: link.path, id: link.metadata.id, type: link.metadata.backup_type, ok: walk.problems.length === 0, problems: walk.problems });
    }
    return verified;
  } finally {
    await closeLinks(links.slice(1));
  }
}
