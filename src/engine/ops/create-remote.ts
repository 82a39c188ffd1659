import { promises as fs } from 'node:fs';
import path from 'node:path';
import { noopSink, throttledProgress, type EngineEvent, type OperationContext } from '../events.js';
import { renumbered } from '../archive/naming.js';
import { AicoError, isAicoError } from '../errors.js';
import { isRemote, joinLocation, S3Store } from '../store/index.js';
import { spoolDir } from '../store/spool.js';
import { EarlyUpload, sweepEarlyUploads } from '../store/s3-early-upload.js';
import { journalOf } from '../store/s3-upload.js';
import { LocalStore } from '../store/local-store.js';
import { create, type CreateOptions, type CreateResult } from './create.js';

/**
 * create, for any store: a local directory as before; a bucket by writing
 * the archive into a local spool directory, then uploading it. Uploads a
 * crashed or cut-off run left in the spool go first, so an incremental
 * finds its parent in the bucket. The local copy goes only once the object
 * is confirmed in the bucket.
 */
export async function createBackup(opts: CreateOptions, ctx: OperationContext = {}): Promise<CreateResult> {
  if (!isRemote(opts.outputDir)) return create(opts, ctx);
  const started = Date.now();
  // The bucket's endpoint and credentials come from this process's environment, as every read of the
  // bucket (the parent's index, list) takes them; opts.env is where the master key is looked up.
  const store = new S3Store(opts.outputDir);
  const spool = await spoolDir(store.location);
  // A caller that holds the bucket's lock (a scheduled run, which cleans up under it) keeps it.
  const lock = opts.lock ?? (await store.lock('create'));
  try {
    await uploadPending(store, spool, ctx);
    // create's summary waits for the upload: a consumer takes `summary` as the end.
    let summary: EngineEvent | null = null;
    const emit = ctx.onEvent ?? noopSink;
    const onEvent = (e: EngineEvent) => (e.type === 'summary' && e.op === 'create' && !e.parent ? (summary = e) : emit(e));
    // Parts of the archive go up while it is written; the upload after it sends the rest.
    const early = new EarlyUpload(store, (await store.connection()).settings.partBytes, ctx.signal);
    const result = await create({ ...opts, lock: undefined, outputDir: spool, parentDir: store.location, onArchiveAppended: early.appended }, { ...ctx, onEvent }).catch(async (error) => {
      await early.abort();
      throw error;
    });
    const local = result.backup.path;
    result.backup.path = await uploadOne(store, local, ctx, await early.handOver(local).catch(() => 0));
    const made = summary as EngineEvent | null;
    if (made?.type === 'summary') {
      result.durationMs = Date.now() - started;
      emit({ ...made, durationMs: result.durationMs });
    }
    return result;
  } finally {
    if (!opts.lock) await lock.release().catch(() => {});
  }
}

/** Backups left in the spool by an earlier run to this bucket (its upload cut off, or the process killed), oldest first. */
export async function uploadPending(store: S3Store, spool: string, ctx: OperationContext = {}): Promise<string[]> {
  await sweepEarlyUploads(store, spool);
  const pending = (await new LocalStore(spool).list()).map((b) => b.name).sort();
  const done: string[] = [];
  for (const name of pending) done.push(await uploadOne(store, path.join(spool, name), ctx));
  return done;
}

/**
 * Uploads a finished local archive under a free name in the bucket; removes the local file once the object is confirmed.
 * `sentEarly`: parts of it this run sent while it was written.
 */
async function uploadOne(store: S3Store, local: string, ctx: OperationContext, sentEarly = 0): Promise<string> {
  const emit = ctx.onEvent ?? noopSink;
  const { name, uploaded } = await freeName(store, local);
  if (uploaded) {
    // A run that died between the completed upload and removing its local copy.
    await fs.rm(local, { force: true });
    await fs.rm(journalOf(local), { force: true });
    return joinLocation(store.location, name);
  }
  const size = (await fs.stat(local)).size;
  const head = sentEarly ? ` (${sentEarly} of ${Math.ceil(size / (await store.connection()).settings.partBytes)} parts went up while it was written)` : '';
  emit({ type: 'phase', phase: 'upload', message: `Uploading ${path.basename(local)} to ${joinLocation(store.location, name)}${head}` });
  const progress = throttledProgress(emit, size);
  await store.put(local, name, {
    signal: ctx.signal,
    onProgress: (done) => progress.update(done, 'upload'),
    onResume: (sent, parts) => sentEarly || emit({ type: 'phase', phase: 'upload', message: `Resuming the upload of ${name}: ${sent} of ${parts} parts were sent by an earlier run` }),
  }).catch((error) => {
    if (!isAicoError(error)) throw error;
    // Cancelled too: the backup is made, only its upload is not, and the next run finishes it.
    const message = error.code === 'CANCELLED' ? `Cancelled during the upload: the backup is kept at ${local}.` : `${error.message.replace(/\.?$/, '.')} The backup is kept at ${local}.`;
    throw new AicoError(error.code, message, {
      hint: `${error.hint ? `${error.hint} ` : ''}The next create to ${store.location} (or aico backup sync ${path.dirname(local)} ${store.location}) finishes its upload.`,
      details: { ...error.details, kept_at: local },
      cause: error,
    });
  });
  progress.flush(size);
  await fs.rm(local, { force: true });
  await fs.rm(journalOf(local), { force: true });
  return joinLocation(store.location, name);
}

/**
 * The local name, unless the bucket has another object by it (the same
 * second from another machine): then the next -N. An unfinished upload of
 * this file keeps the name it was started under, unless that name is taken
 * meanwhile. An object that is this file means its upload completed and only
 * the cleanup after it was cut off.
 */
async function freeName(store: S3Store, local: string): Promise<{ name: string; uploaded: boolean }> {
  const base = path.basename(local);
  const started = await fs.readFile(journalOf(local), 'utf8').then((t) => (JSON.parse(t) as { key: string }).key, () => null);
  const first = started?.startsWith(store.where.prefix) ? started.slice(store.where.prefix.length) : null;
  for (let seq = first ? 0 : 1; ; seq++) {
    const name = seq === 0 ? first! : seq === 1 ? base : renumbered(base, seq);
    const there = await store.head(name);
    if (!there) return { name, uploaded: false };
    if (await sameArchive(store, name, there.bytes, local)) return { name, uploaded: true };
  }
}

/** Whether the object is this file: same size, same first and last 64 KiB (an archive's header and end differ between any two backups). */
async function sameArchive(store: S3Store, name: string, bytes: number, local: string): Promise<boolean> {
  const handle = await fs.open(local, 'r');
  try {
    if ((await handle.stat()).size !== bytes || bytes === 0) return false;
    const n = Math.min(bytes, 64 * 1024);
    for (const at of [0, bytes - n]) {
      const mine = Buffer.alloc(n);
      await handle.read(mine, 0, n, at);
      if (!mine.equals(await store.getRange(name, at, at + n - 1))) return false;
    }
    return true;
  } finally {
    await handle.close();
  }
}
