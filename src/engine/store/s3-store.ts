import { isArchiveName } from '../archive/naming.js';
import type { ArchiveFile } from '../archive/reader.js';
import { AicoError } from '../errors.js';
import type { DirLock } from '../fsutil/lock.js';
import { connect, type S3Connection } from './s3-client.js';
import { remoteError } from './s3-errors.js';
import { acquireRemoteLock } from './s3-lock.js';
import { RangedObject } from './s3-file.js';
import { parseS3, s3Url, type S3Location } from './location.js';
import type { BackupStore, PutOptions, StoredBackup } from './types.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from '../fsutil/atomic-file.js';
import { LocalStore } from './local-store.js';
import { spoolDir } from './spool.js';
import { uploadFile } from './s3-upload.js';

/**
 * Sizes from this process's recent listings. Archives are written once, so a
 * listed size stays true; a short life still bounds what a delete and a new
 * object of the same name (another machine's sync) could make stale.
 */
const listedSizes = new Map<string, { bytes: number; at: number }>();
const LISTED_FRESH_MS = 60_000;

/** Backups under a bucket prefix: object names are archive names, objects are written once. */
export class S3Store implements BackupStore {
  readonly remote = true;
  readonly location: string;
  readonly where: S3Location;

  constructor(
    location: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.where = parseS3(location);
    this.location = s3Url(this.where);
  }

  key(name: string): string {
    return `${this.where.prefix}${name}`;
  }

  connection(): Promise<S3Connection> {
    return connect(this.env);
  }

  /** Runs one S3 request; its failure becomes a coded error naming the operation and the endpoint. */
  async call<T>(op: string, name: string, run: (c: S3Connection) => Promise<T>): Promise<T> {
    const c = await this.connection();
    try {
      return await run(c);
    } catch (error) {
      throw remoteError(error, op, c.endpoint, s3Url(this.where, name));
    }
  }

  /** Every object under the prefix (not below it), archive or not: its own names and lock objects included. */
  async listKeys(prefix = this.where.prefix, signal?: AbortSignal): Promise<StoredBackup[]> {
    const found: StoredBackup[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('list', '', (c) =>
        c.client.send(new c.s3.ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }), { abortSignal: signal }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) found.push({ name: o.Key.slice(prefix.length), bytes: o.Size ?? 0, modified: o.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  async list(signal?: AbortSignal): Promise<StoredBackup[]> {
    const found = (await this.listKeys(this.where.prefix, signal)).filter((o) => isArchiveName(o.name));
    const now = Date.now();
    for (const b of found) listedSizes.set(s3Url(this.where, b.name), { bytes: b.bytes, at: now });
    return found;
  }

  async names(signal?: AbortSignal): Promise<string[]> {
    return (await this.list(signal)).map((b) => b.name);
  }

  async head(name: string): Promise<StoredBackup | null> {
    try {
      const h = await this.call('head', name, (c) => c.client.send(new c.s3.HeadObjectCommand({ Bucket: this.where.bucket, Key: this.key(name) })));
      return { name, bytes: h.ContentLength ?? 0, modified: h.LastModified ?? new Date(0) };
    } catch (error) {
      if (error instanceof AicoError && error.code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  async open(name: string): Promise<ArchiveFile> {
    // Just listed (list describing each backup): the size from the listing, not a HEAD per archive.
    const listed = listedSizes.get(s3Url(this.where, name));
    const bytes = listed && Date.now() - listed.at < LISTED_FRESH_MS ? listed.bytes : (await this.head(name))?.bytes;
    if (bytes === undefined) throw new AicoError('NOT_FOUND', `No backup at ${s3Url(this.where, name)}.`);
    return new RangedObject(bytes, (start, end) => this.getRange(name, start, end));
  }

  /**
   * One ranged GET. The SDK retries a request that fails before its answer;
   * a body cut off mid-way is retried here, with the same backoff.
   */
  async getRange(name: string, start: number, endInclusive: number): Promise<Buffer> {
    const { settings } = await this.connection();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.getRangeOnce(name, start, endInclusive);
      } catch (error) {
        const again = error instanceof AicoError && (error.code === 'REMOTE_UNAVAILABLE' || error.code === 'IO_ERROR') && attempt < settings.maxAttempts;
        if (!again) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(20_000, 100 * 2 ** attempt * (0.5 + Math.random()))));
      }
    }
  }

  private async getRangeOnce(name: string, start: number, endInclusive: number): Promise<Buffer> {
    return this.call('read', name, async (c) => {
      const r = await c.client.send(new c.s3.GetObjectCommand({ Bucket: this.where.bucket, Key: this.key(name), Range: `bytes=${start}-${endInclusive}` }));
      const bytes = Buffer.from(await r.Body!.transformToByteArray());
      if (bytes.length !== endInclusive - start + 1) {
        throw new AicoError('TRUNCATED_ARCHIVE', `${s3Url(this.where, name)} answered ${bytes.length} bytes for a read of ${endInclusive - start + 1} at ${start}: it changed or is cut short.`);
      }
      return bytes;
    });
  }

  async stream(name: string, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    return this.call('download', name, async (c) => {
      const r = await c.client.send(new c.s3.GetObjectCommand({ Bucket: this.where.bucket, Key: this.key(name) }), { abortSignal: signal });
      return r.Body as AsyncIterable<Buffer>;
    });
  }

  async put(file: string, name: string, opts: PutOptions = {}): Promise<void> {
    if (await this.head(name)) throw new AicoError('IO_ERROR', `${s3Url(this.where, name)} exists already; backups are never overwritten.`);
    // The journal of an unfinished upload lives in this bucket's spool, not beside a file in someone's backup directory.
    const spool = await spoolDir(this.location, this.env);
    await ensurePrivateDir(spool);
    await uploadFile(this, file, name, { ...opts, journalIn: spool });
  }

  /**
   * Spooled to a local file first, then put: the upload can then be resumed
   * and its parts retried, which a stream read once cannot.
   */
  async receive(name: string, chunks: AsyncIterable<Buffer>, opts: PutOptions = {}): Promise<void> {
    const spool = await spoolDir(this.location, this.env);
    await ensurePrivateDir(spool);
    const local = new LocalStore(spool);
    await local.receive(name, chunks, { ...(opts.signal ? { signal: opts.signal } : {}) });
    await this.put(path.join(spool, name), name, opts);
    await fs.rm(path.join(spool, name), { force: true });
  }

  async remove(name: string): Promise<void> {
    listedSizes.delete(s3Url(this.where, name));
    await this.call('delete', name, (c) => c.client.send(new c.s3.DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.key(name) })));
  }

  lock(op: string): Promise<DirLock> {
    return acquireRemoteLock(this, op);
  }
}
