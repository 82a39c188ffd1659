import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, isAicoError, throwIfAborted } from '../errors.js';
import { ArchiveReader, DAMAGE_CODES } from '../archive/reader.js';
import { noopSink, throttledProgress, warningEvent, type OperationContext } from '../events.js';
import { ensurePrivateDir } from '../fsutil/atomic-file.js';
import { isRemote, joinLocation, LocalStore, resolveLocation, storeFor, type BackupStore } from '../store/index.js';
import { deleteBackups } from './delete.js';

export interface SyncOptions {
  from: string;
  to: string;
  /** Also remove from `to` the backups `from` no longer has (what cleanup removed there). */
  delete?: boolean;
  dryRun?: boolean;
}

export interface SyncedBackup {
  name: string;
  bytes: number;
  /** `skipped`: damaged in the source (SYNC_DAMAGED), not copied. */
  action: 'copied' | 'would-copy' | 'skipped' | 'deleted' | 'would-delete';
  /** sha256 of the bytes, read back from the destination and equal to the source's. */
  sha256: string | null;
}

export interface SyncResult {
  from: string;
  to: string;
  backups: SyncedBackup[];
  /** Backups in both already (same name and size): left alone. */
  present: number;
  bytes: number;
  durationMs: number;
}

/**
 * Copies the backups `from` has and `to` lacks (by name), oldest first, so a
 * chain arrives parent before child. Each copy is read back from `to` and its
 * sha256 compared with the source's before it counts: a copy that differs
 * is removed and the sync fails. A name present in both with another size is
 * reported and not overwritten (backups are immutable).
 */
export async function sync(opts: SyncOptions, ctx: OperationContext = {}): Promise<SyncResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const from = storeFor(resolveLocation(opts.from));
  const to = storeFor(resolveLocation(opts.to));
  if (from.location === to.location) throw new AicoError('USAGE', `Source and destination are the same place (${from.location}).`);
  emit({ type: 'start', op: 'sync', path: to.location });
  const have = await from.list(ctx.signal);
  if (!isRemote(from.location) && have.length === 0 && !(await fs.stat(from.location).catch(() => null))) {
    throw new AicoError('NOT_FOUND', `There is no backup directory ${from.location}.`);
  }
  if (!opts.dryRun && !isRemote(to.location)) await ensurePrivateDir(to.location);
  const lock = opts.dryRun ? null : await to.lock('sync');
  const backups: SyncedBackup[] = [];
  let present = 0;
  try {
    if (lock?.takeover) emit(warningEvent('STALE_LOCK', lock.takeover));
    const there = new Map((await to.list(ctx.signal)).map((b) => [b.name, b]));
    const missing = have.filter((b) => !there.has(b.name)).sort((a, b) => a.name.localeCompare(b.name));
    for (const b of have) {
      const other = there.get(b.name);
      if (!other) continue;
      present++;
      if (other.bytes !== b.bytes) emit(warningEvent('SYNC_CONFLICT', `${b.name} is in both places with different sizes (${b.bytes} and ${other.bytes} bytes); it was left alone.`));
    }
    const damaged = new Set<string>();
    for (const b of missing) {
      throwIfAborted(ctx.signal);
      const damage = await damageOf(joinLocation(from.location, b.name));
      if (!damage) continue;
      damaged.add(b.name);
      emit(warningEvent('SYNC_DAMAGED', `${b.name} was not copied: ${damage.message.replace(/\.?$/, '.')} Check it with aico backup verify ${joinLocation(from.location, b.name)}.`));
    }
    const total = missing.filter((b) => !damaged.has(b.name)).reduce((n, b) => n + b.bytes, 0);
    const progress = throttledProgress(emit, total);
    let done = 0;
    for (const b of missing) {
      throwIfAborted(ctx.signal);
      if (damaged.has(b.name)) {
        backups.push({ name: b.name, bytes: b.bytes, action: 'skipped', sha256: null });
        continue;
      }
      if (opts.dryRun) {
        backups.push({ name: b.name, bytes: b.bytes, action: 'would-copy', sha256: null });
        continue;
      }
      emit({ type: 'phase', phase: isRemote(to.location) ? 'upload' : 'download', message: `Copying ${b.name} to ${to.location}` });
      const sha256 = await copyOne(from, to, b.name, (n) => progress.update(done + n, 'sync'), ctx.signal);
      done += b.bytes;
      backups.push({ name: b.name, bytes: b.bytes, action: 'copied', sha256 });
      emit({ type: 'item', source: 'archive', path: joinLocation(to.location, b.name), bytes: b.bytes });
    }
    progress.flush(total);
    if (opts.delete) {
      const names = new Set(have.map((b) => b.name));
      const extra = [...there.values()].filter((b) => !names.has(b.name));
      if (extra.length) {
        // The chain rules of delete apply: what the source still needs is never in `extra`, but a dependent in `to` only is.
        const r = await deleteBackups({ paths: extra.map((b) => joinLocation(to.location, b.name)), dryRun: opts.dryRun, withDependents: true, ...(lock ? { lock } : {}) }, { signal: ctx.signal });
        for (const d of r.backups) backups.push({ name: d.name, bytes: d.bytes, action: opts.dryRun ? 'would-delete' : 'deleted', sha256: null });
      }
    }
  } finally {
    await lock?.release();
  }
  const durationMs = Date.now() - started;
  const bytes = backups.filter((b) => b.action === 'copied').reduce((n, b) => n + b.bytes, 0);
  emit({ type: 'summary', op: 'sync', ok: true, durationMs, bytes });
  return { from: from.location, to: to.location, backups, present, bytes, durationMs };
}

/**
 * One archive from one store to the other, then read back from the
 * destination and compared by sha256. A local archive is hashed as it is read
 * for the copy only if it comes as a stream; a file is put whole (a bucket
 * uploads it by parts, resumably) and hashed on its own.
 */
async function copyOne(from: BackupStore, to: BackupStore, name: string, onBytes: (n: number) => void, signal?: AbortSignal): Promise<string> {
  let sha256: string;
  const opts = { onProgress: onBytes, ...(signal ? { signal } : {}) };
  if (from instanceof LocalStore) {
    const file = path.join(from.location, name);
    sha256 = await hashOf(await from.stream(name, signal));
    await to.put(file, name, opts);
  } else {
    const hash = createHash('sha256');
    const source = await from.stream(name, signal);
    await to.receive(name, (async function* () {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    })(), opts);
    sha256 = hash.digest('hex');
  }
  const back = await hashOf(await to.stream(name, signal));
  if (back !== sha256) {
    await to.remove(name).catch(() => {});
    throw new AicoError('CHECKSUM_MISMATCH', `The copy of ${name} in ${to.location} does not read back as it was sent (sha256 ${back} instead of ${sha256}); it was removed.`, {
      hint: 'Run sync again; if it happens again, check the destination disk or the object store.',
    });
  }
  return sha256;
}

/**
 * What is wrong with an archive that its first bytes show (no password needed): an encrypted one cut off or
 * appended to, or one whose header is incomplete. A copy would carry the damage to the other place, where it
 * would look like a second good copy.
 */
async function damageOf(location: string): Promise<AicoError | null> {
  try {
    return (await ArchiveReader.peekHeader(location)).damage ?? null;
  } catch (error) {
    if (isAicoError(error) && DAMAGE_CODES.includes(error.code)) return error;
    // Anything else (a newer format, a failed read) is not judged here: the copy goes ahead, or fails on its own.
    return null;
  }
}

async function hashOf(chunks: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of chunks) h.update(chunk);
  return h.digest('hex');
}
