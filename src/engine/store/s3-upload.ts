import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, fromFsError, isAicoError, throwIfAborted } from '../errors.js';
import { replaceFile } from '../fsutil/atomic-file.js';
import { maybeCrash, maybeStop } from '../fsutil/fault.js';
import { s3Url } from './location.js';
import type { S3Store } from './s3-store.js';

/** Parts of backup.s3.part_size_mib (16 MiB), larger for files too big for S3's 10,000 parts; two in flight. */
export const MAX_PARTS = 9_000;
export const IN_FLIGHT = 2;

/**
 * What an unfinished upload needs to go on where it stopped: kept beside the
 * local file. `size` -1: begun while the archive was still being written
 * (s3-early-upload.ts) and never handed over, so no file will ever match it.
 */
export interface UploadJournal {
  bucket: string;
  key: string;
  uploadId: string;
  size: number;
  mtimeMs: number;
  partBytes: number;
  parts: Record<string, string>;
}

/** Beside a spooled archive; for a file elsewhere (sync from a directory) `journalIn` names the spool it goes in. */
export const journalOf = (localPath: string, journalIn?: string): string => `${journalIn ? path.join(journalIn, path.basename(localPath)) : localPath}.upload.json`;

export interface UploadOptions {
  onProgress?: (done: number, total: number) => void;
  /** An earlier run's upload goes on: `sent` of `parts` parts were already in the bucket. */
  onResume?: (sent: number, parts: number) => void;
  signal?: AbortSignal;
  /** The directory of the upload journal, when not beside the file. */
  journalIn?: string;
}

/**
 * Puts a finished local archive into the bucket under `name`, always as a
 * multipart upload (one part for a small file): S3 shows it under the name
 * only once completed, so an interrupted upload is never a half backup. A
 * plain PUT is not used even for small files: S3-compatible servers such as
 * s3rver show a PUT cut off mid-way as a short object under its final name. Its
 * upload id and finished parts are journalled (beside the file, or in the
 * bucket's spool directory, `journalIn`): the next run
 * sends only the missing parts (or starts over if the server dropped them).
 * Every part carries its MD5, which the server checks on receipt.
 */
export async function uploadFile(store: S3Store, localPath: string, name: string, opts: UploadOptions = {}): Promise<{ bytes: number; resumed: boolean }> {
  const st = await fs.stat(localPath).catch((error) => {
    throw fromFsError(error, localPath);
  });
  const journalFile = journalOf(localPath, opts.journalIn);
  for (let attempt = 0; ; attempt++) {
    const journal = await startOrResume(store, journalFile, name, st);
    if (journal.resumed) opts.onResume?.(Object.keys(journal.parts).length, Math.max(1, Math.ceil(journal.size / journal.partBytes)));
    try {
      await sendParts(store, localPath, journalFile, journal, opts);
      const parts = Object.entries(journal.parts)
        .map(([n, ETag]) => ({ PartNumber: Number(n), ETag }))
        .sort((a, b) => a.PartNumber - b.PartNumber);
      // Ctrl-C after the last part still stops short of making the object.
      throwIfAborted(opts.signal);
      await store.call('complete upload of', name, (c) =>
        c.client.send(new c.s3.CompleteMultipartUploadCommand({ Bucket: journal.bucket, Key: journal.key, UploadId: journal.uploadId, MultipartUpload: { Parts: parts } })),
      );
      maybeCrash('upload:completed');
      await confirm(store, name, st.size);
      await fs.rm(journalFile, { force: true });
      return { bytes: st.size, resumed: journal.resumed };
    } catch (error) {
      // The server forgot the upload (expired, aborted, or restarted without its parts): once more from the start.
      if (attempt === 0 && isNoSuchUpload(error)) {
        await abandon(store, journal);
        await fs.rm(journalFile, { force: true });
        continue;
      }
      throw error;
    }
  }
}

async function startOrResume(store: S3Store, journalFile: string, name: string, st: { size: number; mtimeMs: number }): Promise<UploadJournal & { resumed: boolean }> {
  const key = store.key(name);
  const old = await fs.readFile(journalFile, 'utf8').then((t) => JSON.parse(t) as UploadJournal, () => null);
  if (old && old.bucket === store.where.bucket && old.key === key && old.size === st.size && old.mtimeMs === st.mtimeMs) return { ...old, resumed: true };
  // The file is not the one the journal's upload sent: its parts go (S3 bills them until aborted).
  if (old?.uploadId) await abandon(store, old);
  const partBytes = partBytesFor(st.size, (await store.connection()).settings.partBytes);
  const journal: UploadJournal = { ...(await startUpload(store, name, partBytes)), size: st.size, mtimeMs: st.mtimeMs };
  await replaceFile(journalFile, JSON.stringify(journal));
  return { ...journal, resumed: false };
}

/** The configured part size, or the next whole MiB that keeps a file of `size` within MAX_PARTS parts. */
export const partBytesFor = (size: number, configured: number): number => Math.max(configured, Math.ceil(size / MAX_PARTS / (1 << 20)) * (1 << 20));

/** A new multipart upload of `name`: its journal, with no parts and no file yet. */
export async function startUpload(store: S3Store, name: string, partBytes: number): Promise<UploadJournal> {
  const key = store.key(name);
  const created = await store.call('start upload of', name, (c) =>
    c.client.send(new c.s3.CreateMultipartUploadCommand({ Bucket: store.where.bucket, Key: key, ContentType: 'application/octet-stream' })),
  );
  return { bucket: store.where.bucket, key, uploadId: created.UploadId!, size: -1, mtimeMs: -1, partBytes, parts: {} };
}

async function sendParts(store: S3Store, localPath: string, journalFile: string, journal: UploadJournal, opts: UploadOptions): Promise<void> {
  const count = Math.max(1, Math.ceil(journal.size / journal.partBytes));
  const todo = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !journal.parts[n]);
  let done = (count - todo.length) * journal.partBytes;
  opts.onProgress?.(Math.min(done, journal.size), journal.size);
  // The fault points count journalled parts, these too: a test can stop an upload that resumes before it sends any.
  maybeCrash(`upload:${count - todo.length}`);
  maybeStop(`upload:${count - todo.length}`);
  const handle = await fs.open(localPath, 'r');
  let writing = Promise.resolve();
  try {
    const worker = async () => {
      for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
        throwIfAborted(opts.signal);
        const length = Math.min(journal.partBytes, journal.size - (n - 1) * journal.partBytes);
        journal.parts[n] = await sendPart(store, handle, localPath, journal, n, length, opts.signal);
        // Counted now: the other worker may add its part before this one's journal write is done.
        const sent = Object.keys(journal.parts).length;
        // One journal write at a time, each a whole new file: a crash keeps the last complete one.
        writing = writing.then(() => replaceFile(journalFile, JSON.stringify(recordOf(journal))));
        await writing;
        maybeCrash(`upload:${sent}`);
        maybeStop(`upload:${sent}`);
        done += length;
        opts.onProgress?.(Math.min(done, journal.size), journal.size);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    await handle.close();
  }
}

/** Part n (`length` bytes from its start in the file) into the upload; its ETag. The MD5 lets the server check what it got. */
export async function sendPart(store: S3Store, handle: fs.FileHandle, localPath: string, journal: UploadJournal, n: number, length: number, signal?: AbortSignal): Promise<string> {
  const body = Buffer.allocUnsafe(length);
  const { bytesRead } = await handle.read(body, 0, length, (n - 1) * journal.partBytes);
  if (bytesRead !== length) throw new AicoError('IO_ERROR', `${localPath} changed while it was uploaded.`);
  const part = await store.call(`upload part ${n} of`, nameOf(journal), (c) =>
    c.client.send(new c.s3.UploadPartCommand({ Bucket: journal.bucket, Key: journal.key, UploadId: journal.uploadId, PartNumber: n, Body: body, ContentMD5: md5(body) }), {
      abortSignal: signal,
    }),
  );
  return part.ETag!;
}

/** The journal as written: what startOrResume reads back, nothing of this run's own. */
export const recordOf = ({ bucket, key, uploadId, size, mtimeMs, partBytes, parts }: UploadJournal): UploadJournal => ({ bucket, key, uploadId, size, mtimeMs, partBytes, parts });

/** Best effort: servers without AbortMultipartUpload (s3rver answers 405) keep the parts until their own cleanup. */
export async function abandon(store: S3Store, journal: UploadJournal): Promise<void> {
  await store
    .call('abort upload of', nameOf(journal), (c) => c.client.send(new c.s3.AbortMultipartUploadCommand({ Bucket: journal.bucket, Key: journal.key, UploadId: journal.uploadId })))
    .catch(() => {});
}

const nameOf = (j: UploadJournal) => j.key.slice(j.key.lastIndexOf('/') + 1);

function isNoSuchUpload(error: unknown): boolean {
  const e = (isAicoError(error) ? error.details : null) as { s3_error?: string } | null;
  return e?.s3_error === 'NoSuchUpload';
}

/** After the upload: the object is there, whole. */
async function confirm(store: S3Store, name: string, size: number): Promise<void> {
  const found = await store.head(name);
  if (found?.bytes !== size) {
    throw new AicoError('IO_ERROR', `${s3Url(store.where, name)} holds ${found ? `${found.bytes} bytes` : 'nothing'} after the upload of ${size}.`, {
      hint: 'Run the command again; the local copy is kept until the upload is confirmed.',
    });
  }
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');
