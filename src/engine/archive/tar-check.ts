import { AicoError } from '../errors.js';

const BLOCK = 512;
const MAX_PAX = 4 << 20;

const damaged = (why: string, offset: number) =>
  new AicoError('CORRUPT_ARCHIVE', `The tar stream in the archive is damaged: ${why} at tar offset ${offset}.`, {
    hint: 'Use another copy of this backup.',
    details: { tarOffset: offset },
  });

/** A size field as tar-stream reads it: octal text, or GNU base-256 when the first byte has its high bit set. */
function sizeField(field: Buffer): number {
  if (field[0]! & 0x80) {
    if (field[0] !== 0x80) return NaN;
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = field.toString('latin1').replace(/^ +/, '').replace(/ .*$/s, '').replace(/^\0+/, '');
  return text === '' ? 0 : parseInt(text, 8);
}

/**
 * Watches a tar stream on its way to tar-stream and checks the bytes that
 * tar-stream skips or reads loosely: the zero padding after each entry's data,
 * the end blocks and anything after them (all zero), and each header's
 * checksum field, which its own sum does not cover (tar-stream writes
 * "dddddd \0", POSIX tars "dddddd\0 ", and tar-stream reads only up to the
 * space). Without these checks a changed byte there would go unnoticed in an
 * unencrypted archive.
 */
export async function* checkTarLayout(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const layout = new TarLayout();
  for await (const chunk of input) {
    layout.update(chunk);
    yield chunk;
  }
  layout.end();
}

class TarLayout {
  private offset = 0;
  private phase: 'header' | 'data' | 'padding' | 'end' = 'header';
  private readonly header = Buffer.alloc(BLOCK);
  private filled = 0;
  private left = 0;
  private entry = '';
  private endStart = 0;
  /** Data of the PAX header being read, and the size it sets for the next entry. */
  private pax: Buffer[] | null = null;
  private paxSize: number | null = null;

  update(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.phase === 'header') {
        const n = Math.min(BLOCK - this.filled, chunk.length - pos);
        chunk.copy(this.header, this.filled, pos, pos + n);
        this.filled += n;
        pos += n;
        if (this.filled === BLOCK) this.headerDone();
      } else if (this.phase === 'data') {
        const n = Math.min(this.left, chunk.length - pos);
        this.pax?.push(Buffer.from(chunk.subarray(pos, pos + n)));
        pos += n;
        this.offset += n;
        this.left -= n;
        if (this.left === 0) this.dataDone();
      } else {
        const n = this.phase === 'padding' ? Math.min(this.left, chunk.length - pos) : chunk.length - pos;
        for (let i = pos; i < pos + n; i++) {
          if (chunk[i] !== 0) {
            const where = this.phase === 'padding' ? `the padding after "${this.entry}"` : 'the end blocks';
            throw damaged(`a non-zero byte in ${where}`, this.offset + (i - pos));
          }
        }
        pos += n;
        this.offset += n;
        if (this.phase === 'padding') {
          this.left -= n;
          if (this.left === 0) this.phase = 'header';
        }
      }
    }
  }

  end(): void {
    if (this.phase !== 'end') throw damaged('no end blocks', this.offset);
    const zeros = this.offset - this.endStart;
    if (zeros < 2 * BLOCK || zeros % BLOCK !== 0) throw damaged(`${zeros} end bytes instead of whole zero blocks (at least two)`, this.offset);
  }

  private headerDone(): void {
    const h = this.header;
    const at = this.offset;
    this.filled = 0;
    if (h.every((b) => b === 0)) {
      this.phase = 'end';
      this.endStart = at;
      this.offset += BLOCK;
      return;
    }
    let sum = 8 * 0x20;
    for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += h[i]!;
    // tar-stream takes a block that is zero outside its checksum field for an end block.
    if (sum === 8 * 0x20) throw damaged('a zero block with a checksum', at);
    const field = h.toString('latin1', 148, 156);
    if (!/^[0-7]{6}( \0|\0 )$/.test(field) || parseInt(field.slice(0, 6), 8) !== sum) throw damaged('a tar header with a bad checksum field', at);
    const type = String.fromCharCode(h[156]!);
    let size = sizeField(h.subarray(124, 136));
    if (this.paxSize !== null && type !== 'x' && type !== 'g') {
      size = this.paxSize;
      this.paxSize = null;
    }
    // tar-stream gives a directory no data, whatever its size field says.
    if (type === '5') size = 0;
    if (!Number.isSafeInteger(size) || size < 0) throw damaged('a tar header with an unreadable size', at);
    if (type === 'x' && size > MAX_PAX) throw damaged('an oversized PAX header', at);
    const name = h.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    this.entry = h[345] ? `${h.toString('utf8', 345, 500).replace(/\0.*$/s, '')}/${name}` : name;
    this.pax = type === 'x' ? [] : null;
    this.offset += BLOCK;
    this.left = size;
    this.phase = 'data';
    if (size === 0) this.dataDone();
  }

  private dataDone(): void {
    if (this.pax) {
      const size = /(?:^|\n)\d+ size=(\d+)\n/.exec(Buffer.concat(this.pax).toString('utf8'));
      this.paxSize = size ? parseInt(size[1]!, 10) : null;
      this.pax = null;
    }
    const pad = (BLOCK - (this.offset % BLOCK)) % BLOCK;
    this.left = pad;
    this.phase = pad > 0 ? 'padding' : 'header';
  }
}
