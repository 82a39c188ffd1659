import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { fromFsError } from '../errors.js';

const FLUSH_AT = 1 << 20;

/**
 * Block hashes accumulate at 32 bytes per 4 KiB of data: too many to keep in
 * memory for a large home, so they are spooled to a temporary file and copied
 * into the archive's tail. The spool is encrypted with a throw-away key
 * because unkeyed content hashes must not sit outside the archive encryption.
 */
export class BlockSpool {
  private readonly key = randomBytes(32);
  private readonly iv = randomBytes(16);
  private readonly cipher = createCipheriv('aes-256-ctr', this.key, this.iv);
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  count = 0;

  private constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
  ) {}

  static async create(path: string): Promise<BlockSpool> {
    try {
      return new BlockSpool(path, await fs.open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600));
    } catch (error) {
      throw fromFsError(error, path);
    }
  }

  /** Appends one or more 32-byte hashes, concatenated. */
  async add(hashes: Buffer): Promise<void> {
    this.pending.push(hashes);
    this.pendingBytes += hashes.length;
    this.count += hashes.length / 32;
    if (this.pendingBytes >= FLUSH_AT) await this.flush();
  }

  get byteLength(): number {
    return this.written + this.pendingBytes;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.cipher.update(Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await this.handle.write(data, 0, data.length, this.written);
    } catch (error) {
      throw fromFsError(error, this.path);
    }
    this.written += data.length;
  }

  /** Yields every hash byte in order, decrypted. */
  async *read(): AsyncGenerator<Buffer> {
    await this.flush();
    const decipher = createDecipheriv('aes-256-ctr', this.key, this.iv);
    const buf = Buffer.allocUnsafe(FLUSH_AT);
    for (let pos = 0; pos < this.written; ) {
      const { bytesRead } = await this.handle.read(buf, 0, Math.min(buf.length, this.written - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      yield decipher.update(buf.subarray(0, bytesRead));
    }
  }

  async remove(): Promise<void> {
    this.key.fill(0);
    await this.handle.close().catch(() => {});
    await fs.rm(this.path, { force: true });
  }
}
