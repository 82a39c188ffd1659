import { promises as fs } from 'node:fs';
import path from 'node:path';
import { replaceFile } from '../fsutil/atomic-file.js';
import { maybeCrash } from '../fsutil/fault.js';
import { abandon, IN_FLIGHT, journalOf, MAX_PARTS, partBytesFor, recordOf, sendPart, startUpload, type UploadJournal } from './s3-upload.js';
import type { S3Store } from './s3-store.js';

/** Where the archive being written is, as the writer reports it. */
export interface ArchiveInProgress {
  finalPath: string;
  partialPath: string;
}

/**
 * Sends an archive's parts to the bucket while create is still writing it, so
 * the upload after it is only the first part (the header, rewritten when the
 * archive is finished) and the last. Only whole parts at or after the second
 * go early: everything past the header is appended once and never rewritten.
 * Parts sent are journalled beside the archive's final local name with size
 * -1; `handOver` fills in the finished file's size and mtime, and the usual
 * resumable upload (uploadFile) sends the rest. This is only a head start:
 * anything that goes wrong here stops it quietly, and the upload after the
 * archive is written does the work (and reports its errors) as without it.
 */
/** Whole parts the writer may be ahead of the bucket: the two in flight and no more. */
const AHEAD = IN_FLIGHT;

export class EarlyUpload {
  private journal: UploadJournal | null = null;
  private journalFile = '';
  private partialPath = '';
  private begun: Promise<void> | null = null;
  private handle: fs.FileHandle | null = null;
  private written = 0;
  /** Parts journalled as in the bucket. */
  private acked = 0;
  /** The writer, while it waits for the upload to catch up. */
  private waiting: (() => void)[] = [];
  private next = 2;
  private stopped = false;
  /** The archive is finished: no new part starts here, the upload after it sends the rest with its progress shown. */
  private finished = false;
  private readonly sending = new Set<Promise<void>>();
  private journalWrite: Promise<void> = Promise.resolve();
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;

  constructor(
    private readonly store: S3Store,
    /** backup.s3.part_size_mib: a file too large for S3's parts at this size is uploaded after it is written. */
    private readonly partBytes: number,
    signal?: AbortSignal,
  ) {
    this.signal = signal ? AbortSignal.any([signal, this.controller.signal]) : this.controller.signal;
    this.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /**
   * The archive writer's report: bytes up to `end` are in the file for good
   * (past the header). The writer waits here while more than AHEAD whole parts
   * are not yet in the bucket: running further ahead would not finish the
   * upload sooner, and held to the link's pace its progress is the whole
   * operation's.
   */
  readonly appended = (file: ArchiveInProgress, end: number): Promise<void> | undefined => {
    // Nothing starts before the second part is whole: an archive of one part (most incrementals) costs no extra request.
    if (this.stopped || end < 2 * this.partBytes) return undefined;
    this.written = end;
    this.begun ??= this.begin(file).catch(() => this.stop());
    this.pump();
    return this.behind() > AHEAD ? new Promise((resolve) => this.waiting.push(resolve)) : undefined;
  };

  /** Whole parts from the second on that are written but not yet journalled as in the bucket. */
  private behind(): number {
    return Math.min(Math.floor(this.written / this.partBytes), MAX_PARTS) - 1 - this.acked;
  }

  /** Lets the writer go on: caught up, or given up (the writer never waits on an upload that stopped). */
  private release(): void {
    if (!this.stopped && this.behind() > AHEAD) return;
    for (const go of this.waiting.splice(0)) go();
  }

  private async begin(file: ArchiveInProgress): Promise<void> {
    const name = path.basename(file.finalPath);
    // Another object by this name (the same second from another machine): the upload after the archive picks a free name.
    if (await this.store.head(name)) return this.stop();
    this.partialPath = file.partialPath;
    this.handle = await fs.open(file.partialPath, 'r');
    this.journalFile = journalOf(file.finalPath);
    const journal = await startUpload(this.store, name, this.partBytes);
    // Journalled before any part: a process killed from here on leaves the upload for the next run to abort (sweepEarlyUploads).
    await replaceFile(this.journalFile, JSON.stringify(journal));
    this.journal = journal;
    this.pump();
  }

  private pump(): void {
    const journal = this.journal;
    if (!journal || this.stopped || this.finished) return;
    while (this.sending.size < IN_FLIGHT && this.next <= MAX_PARTS && this.next * journal.partBytes <= this.written) {
      const n = this.next++;
      const sent: Promise<void> = this.send(journal, n)
        .catch(() => this.stop())
        .finally(() => {
          this.sending.delete(sent);
          this.pump();
        });
      this.sending.add(sent);
    }
  }

  private async send(journal: UploadJournal, n: number): Promise<void> {
    const etag = await sendPart(this.store, this.handle!, this.partialPath, journal, n, journal.partBytes, this.signal);
    journal.parts[n] = etag;
    this.journalWrite = this.journalWrite.then(() => replaceFile(this.journalFile, JSON.stringify(recordOf(journal))));
    await this.journalWrite;
    this.acked++;
    maybeCrash(`upload-early:${this.acked}`);
    this.release();
  }

  private stop(): void {
    this.stopped = true;
    this.release();
  }

  private async settle(): Promise<void> {
    await this.begun;
    while (this.sending.size) await Promise.all(this.sending);
    await this.journalWrite.catch(() => {});
    await this.handle?.close().catch(() => {});
    this.handle = null;
  }

  /**
   * The archive is finished under `finalPath`: the parts sent so far are
   * journalled as an upload of it, for uploadFile to complete. The number of
   * parts already in the bucket; 0 if the head start came to nothing.
   */
  async handOver(finalPath: string): Promise<number> {
    this.finished = true;
    await this.settle();
    const journal = this.journal;
    if (!journal) return 0;
    const st = await fs.stat(finalPath).catch(() => null);
    const sent = Object.keys(journal.parts).length;
    // A file grown past MAX_PARTS of this size is uploaded in larger parts, from the start.
    if (this.stopped || !st || sent === 0 || partBytesFor(st.size, journal.partBytes) !== journal.partBytes) {
      await this.discard();
      return 0;
    }
    await replaceFile(this.journalFile, JSON.stringify(recordOf({ ...journal, size: st.size, mtimeMs: st.mtimeMs })));
    return sent;
  }

  /** The archive was not made (an error, Ctrl-C): the parts sent go. */
  async abort(): Promise<void> {
    this.stop();
    this.controller.abort();
    await this.settle().catch(() => {});
    await this.discard();
  }

  private async discard(): Promise<void> {
    if (!this.journal) return;
    await abandon(this.store, this.journal);
    await fs.rm(this.journalFile, { force: true });
    this.journal = null;
  }
}

/**
 * Uploads begun while an archive was written by a run that never finished it
 * (killed): their journals in the spool still say size -1. Aborted, so the
 * bucket does not keep (and bill) their parts. Run under the bucket's lock,
 * as every create into it is.
 */
export async function sweepEarlyUploads(store: S3Store, spool: string): Promise<void> {
  const names = await fs.readdir(spool).catch(() => [] as string[]);
  for (const file of names.filter((n) => n.endsWith('.upload.json'))) {
    const at = path.join(spool, file);
    const journal = await fs.readFile(at, 'utf8').then((t) => JSON.parse(t) as UploadJournal, () => null);
    if (journal?.size !== -1) continue;
    if (journal.bucket === store.where.bucket && journal.uploadId) await abandon(store, journal);
    await fs.rm(at, { force: true });
  }
}
