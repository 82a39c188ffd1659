import { createHash, hash as oneShot } from 'node:crypto';

/**
 * Hashes a file as it streams: SHA-256 of the whole content, and SHA-256 of
 * each fixed-size block (the last one may be short), the unit later
 * incremental backups compare.
 */
export class BlockHasher {
  private readonly whole = createHash('sha256');
  private carry: Buffer | null = null;

  constructor(
    private readonly blockSize: number,
    private readonly onBlock: (hash: Buffer) => void | Promise<void>,
  ) {}

  async update(chunk: Buffer): Promise<void> {
    this.whole.update(chunk);
    let data = chunk;
    if (this.carry) {
      data = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let off = 0;
    for (; off + this.blockSize <= data.length; off += this.blockSize) {
      await this.onBlock(oneShot('sha256', data.subarray(off, off + this.blockSize), 'buffer') as unknown as Buffer);
    }
    if (off < data.length) this.carry = Buffer.from(data.subarray(off));
  }

  /** Hashes the short last block, if any, and returns the whole-content SHA-256 (hex). */
  async finish(): Promise<string> {
    if (this.carry) await this.onBlock(oneShot('sha256', this.carry, 'buffer') as unknown as Buffer);
    this.carry = null;
    return this.whole.digest('hex');
  }
}
