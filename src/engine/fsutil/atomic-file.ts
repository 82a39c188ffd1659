import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, fromFsError } from '../errors.js';

export const PARTIAL_SUFFIX = '.partial';
/** Bytes written between background flushes (see flushBehind). */
const FLUSH_EVERY = 16 << 20;

/**
 * A file that appears under its final name only when complete: bytes go to
 * `NAME.<pid>.partial` (0600), which is fsynced, hard-linked to NAME (link
 * fails rather than overwrite an existing file) and unlinked, then the
 * directory is fsynced. Anything else removes the partial file.
 */
export class AtomicFile {
  private position = 0;
  private unflushed = 0;
  private flushing: Promise<void> | null = null;
  /**
   * Told the end of the appended bytes after each write (not writeAt): what is
   * there for good before the commit. The write waits for a promise it returns.
   */
  onAppend: ((end: number) => Promise<void> | undefined) | null = null;

  private constructor(
    readonly finalPath: string,
    readonly partialPath: string,
    private readonly handle: fs.FileHandle,
  ) {}

  static async create(finalPath: string): Promise<AtomicFile> {
    const partialPath = `${finalPath}.${process.pid}${PARTIAL_SUFFIX}`;
    try {
      const handle = await fs.open(partialPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      return new AtomicFile(finalPath, partialPath, handle);
    } catch (error) {
      throw fromFsError(error, partialPath);
    }
  }

  get bytesWritten(): number {
    return this.position;
  }

  async write(data: Buffer): Promise<void> {
    try {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, this.position);
        done += bytesWritten;
        this.position += bytesWritten;
      }
      await this.onAppend?.(this.position);
      this.unflushed += data.length;
      if (this.unflushed >= FLUSH_EVERY) await this.flushBehind();
    } catch (error) {
      throw fromFsError(error, this.finalPath);
    }
  }

  /**
   * Starts writing what is in the page cache to disk, without waiting for it
   * (one flush at a time). Left alone, the kernel keeps the whole archive
   * dirty until the final fsync, which then holds the disk for seconds: AICO's
   * own commits (each fsyncs its WAL) waited up to 0.56 s behind it.
   */
  private async flushBehind(): Promise<void> {
    if (this.flushing) await this.flushing;
    this.unflushed = 0;
    const flush = this.handle.datasync();
    this.flushing = flush.finally(() => (this.flushing = null));
    this.flushing.catch(() => {});
  }

  /** Writes at an absolute offset without moving the append position (header patching). */
  async writeAt(data: Buffer, offset: number): Promise<void> {
    try {
      await this.handle.write(data, 0, data.length, offset);
    } catch (error) {
      throw fromFsError(error, this.finalPath);
    }
  }

  async commit(): Promise<void> {
    try {
      await this.flushing;
      await this.handle.sync();
      await this.handle.close();
      try {
        await fs.link(this.partialPath, this.finalPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new AicoError('IO_ERROR', `${this.finalPath} appeared while the backup was written; it was left untouched.`, {
            hint: 'Run the command again; it picks a new name.',
          });
        }
        throw error;
      }
      await fs.unlink(this.partialPath);
      await syncDir(path.dirname(this.finalPath));
    } catch (error) {
      await fs.unlink(this.partialPath).catch(() => {});
      throw fromFsError(error, this.finalPath);
    }
  }

  async abort(): Promise<void> {
    await this.flushing?.catch(() => {});
    await this.handle.close().catch(() => {});
    await fs.unlink(this.partialPath).catch(() => {});
  }
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates dir (and parents) with mode 0700 if missing. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fromFsError(error, dir);
  }
}

/** Parses the pid out of a partial file name written by AtomicFile, or null. */
export function partialOwnerPid(name: string): number | null {
  const match = /\.(\d+)\.(?:[a-z]+\.)?partial$/.exec(name);
  return match ? Number(match[1]) : null;
}

/** Whether anything (file, directory, link) exists at `p`, without following a final link. */
export function pathExists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/**
 * Replaces `file` with `data` so that a crash leaves the old content or the
 * new, never a mix: written to a partial file (named so the next lock holder
 * cleans it up), fsynced, renamed over the file, the directory fsynced. A file
 * that exists keeps its permissions; a new one gets `mode`.
 */
export async function replaceFile(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  const keep = await fs.stat(file).then((st) => st.mode & 0o777, () => mode);
  const tmp = `${file}.${process.pid}${PARTIAL_SUFFIX}`;
  try {
    const handle = await fs.open(tmp, 'w', keep);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.chmod(tmp, keep);
    await fs.rename(tmp, file);
  } catch (error) {
    await fs.rm(tmp, { force: true });
    throw fromFsError(error, file);
  }
  await syncDir(path.dirname(file));
}
