import { availableParallelism } from 'node:os';
import type { webcrypto } from 'node:crypto';
import { getCodec } from '../codec/index.js';
import { ordered } from '../codec/ordered.js';
import type { Codec } from '../codec/types.js';
import { headerSizeFromPrefix, looksEncrypted, parseHeader, unwrapDataKey, type ParsedHeader } from '../crypto/header.js';
import { openSegment, payloadKey, sealedLength, segmentCount, TAG_BYTES } from '../crypto/segments.js';
import { AicoError, fromFsError, passwordRequired, throwIfAborted } from '../errors.js';
import { splitFrames } from './frames.js';
import { LOCATOR_BYTES, LOCATOR_MAGIC, decodeLocator, type Locator } from './locator.js';
import { MAX_FRAME_OUTPUT } from './layout.js';
import { openArchiveFile } from '../store/index.js';

export type PasswordProvider = () => Promise<Buffer>;

/** What the reader does with its file; tests wrap a handle to count the bytes read. */
export interface ArchiveFile {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number; isFile(): boolean }>;
  close(): Promise<void>;
}


const READ_SIZE = 1 << 20;
const concurrency = () => Math.max(2, availableParallelism()) + 1;

const truncated = (why: string) =>
  new AicoError('TRUNCATED_ARCHIVE', `The archive is truncated (${why}).`, {
    hint: 'The file is incomplete (an interrupted copy or a full disk?); use another copy of this backup.',
  });

/** The errors that mean an archive's bytes are not what was written (cut off, appended to, altered), not that it cannot be read here. */
export const DAMAGE_CODES: readonly string[] = ['CORRUPT_ARCHIVE', 'CORRUPT_HEADER', 'TRUNCATED_ARCHIVE', 'TRAILING_DATA'];

/**
 * What the public header says the file's size must be, against its size: a
 * cut-off or appended-to encrypted archive is known before any decryption
 * (list tells it without the password; open refuses it).
 */
function sizeDamage(header: ParsedHeader, fileSize: number): AicoError | null {
  const expected = header.length + sealedLength(header.payloadLength, header.header.segment_size);
  if (header.payloadLength === 0) return truncated('the archive was never finished');
  if (fileSize < expected) return truncated(`${expected - fileSize} bytes are missing`);
  if (fileSize > expected) {
    return new AicoError('TRAILING_DATA', `The archive has ${fileSize - expected} unexpected bytes after its end.`, {
      hint: 'Something was appended to the file; use another copy of this backup.',
    });
  }
  return null;
}

const damagedLocator = () =>
  new AicoError('CORRUPT_ARCHIVE', 'The archive end marker (locator) is damaged.', { hint: 'Use another copy of this backup.' });

function detectCodec(prefix: Buffer): Codec | null {
  if (prefix.length >= 4) {
    const magic = prefix.readUInt32LE(0);
    if (magic === 0xfd2fb528) return getCodec('zstd');
    if (magic === 0x184d2204) return getCodec('lz4');
  }
  if (prefix[0] === 0x1f && prefix[1] === 0x8b) return getCodec('gzip');
  if (prefix.length >= 262 && prefix.toString('latin1', 257, 262) === 'ustar') return getCodec('none');
  return null;
}

/**
 * Random and sequential access to an archive's compressed stream ("payload"):
 * for an encrypted archive every byte handed out comes from a segment that
 * passed authentication; for a plain one it is the file itself.
 */
export class ArchiveReader {
  codec!: Codec;
  header: ParsedHeader | null = null;
  private key: webcrypto.CryptoKey | null = null;
  /** Bytes of the compressed stream (the encrypted payload, or the whole plain file). */
  payloadLength = 0;
  private payloadStart = 0;
  private segmentSize = 0;

  private constructor(
    readonly path: string,
    readonly fileSize: number,
    private readonly handle: ArchiveFile,
  ) {}

  static async open(path: string, password: PasswordProvider | null, signal?: AbortSignal, open = openArchiveFile): Promise<ArchiveReader> {
    let handle: ArchiveFile;
    try {
      handle = await open(path);
    } catch (error) {
      const err = fromFsError(error, path);
      if (err.code === 'NOT_FOUND') err.message = `No backup at ${path}.`;
      throw err;
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new AicoError('NOT_AN_ARCHIVE', `${path} is not a file.`);
      const reader = new ArchiveReader(path, stat.size, handle);
      await reader.init(password, signal);
      return reader;
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** Reads only the public header; no password needed (used by list). */
  static async peekHeader(path: string): Promise<{ encrypted: boolean; header: ParsedHeader | null; codec: Codec | null; size: number; damage?: AicoError | null }> {
    const handle = await openArchiveFile(path).catch((error) => {
      throw fromFsError(error, path);
    });
    try {
      const size = (await handle.stat()).size;
      const prefix = await readAt(handle, 0, Math.min(size, 64 * 1024));
      if (!looksEncrypted(prefix)) return { encrypted: false, header: null, codec: detectCodec(prefix), size };
      const need = headerSizeFromPrefix(prefix);
      if (need === null || need > size) throw truncated('the header is incomplete');
      const raw = need <= prefix.length ? prefix : await readAt(handle, 0, need);
      const header = parseHeader(raw.subarray(0, need));
      return { encrypted: true, header, codec: null, size, damage: sizeDamage(header, size) };
    } finally {
      await handle.close();
    }
  }

  get encrypted(): boolean {
    return this.header !== null;
  }

  private async init(password: PasswordProvider | null, signal?: AbortSignal): Promise<void> {
    const prefix = await this.readRaw(0, Math.min(this.fileSize, 64 * 1024));
    if (looksEncrypted(prefix)) {
      const need = headerSizeFromPrefix(prefix);
      if (need === null || need > this.fileSize) throw truncated('the header is incomplete');
      const raw = need <= prefix.length ? prefix.subarray(0, need) : await this.readRaw(0, need);
      const header = parseHeader(raw);
      this.header = header;
      this.segmentSize = header.header.segment_size;
      this.payloadLength = header.payloadLength;
      this.payloadStart = header.length;
      const damage = sizeDamage(header, this.fileSize);
      if (damage) throw damage;
      if (!password) throw passwordRequired('read');
      throwIfAborted(signal);
      const secret = await password();
      let dataKey: Buffer;
      try {
        dataKey = await unwrapDataKey(header, secret);
      } finally {
        secret.fill(0);
      }
      try {
        this.key = await payloadKey(dataKey);
      } finally {
        dataKey.fill(0);
      }
      const first = await this.readPayloadBuffer(0, Math.min(this.payloadLength, 512));
      const codec = detectCodec(first.length >= 262 ? first : Buffer.concat([first, Buffer.alloc(262)]));
      if (!codec) throw new AicoError('CORRUPT_ARCHIVE', 'The decrypted payload is not in a known compression format.');
      this.codec = codec;
    } else {
      const codec = detectCodec(prefix);
      if (!codec) {
        throw new AicoError('NOT_AN_ARCHIVE', `${this.path} is not an aico-backup archive.`, {
          hint: 'Pass a file named aico-backup-*.tar[.zst|.gz|.lz4][.enc].',
        });
      }
      this.codec = codec;
      this.payloadLength = this.fileSize;
    }
  }

  private async readRaw(position: number, length: number): Promise<Buffer> {
    return readAt(this.handle, position, length);
  }

  /** Authenticated bytes [start, end) of the compressed stream, in pieces. */
  async *payload(start: number, end: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (!this.key) {
      for (let pos = start; pos < end; ) {
        throwIfAborted(signal);
        const n = Math.min(READ_SIZE, end - pos);
        const chunk = await this.readRaw(pos, n);
        if (chunk.length < n) throw truncated('the file ended early');
        pos += n;
        yield chunk;
      }
      return;
    }
    const key = this.key;
    const size = this.segmentSize;
    const count = segmentCount(this.payloadLength, size);
    const first = Math.floor(start / size);
    const last = Math.min(count - 1, Math.floor((end - 1) / size));
    const self = this;
    async function* jobs() {
      for (let index = first; index <= last; index++) {
        throwIfAborted(signal);
        const isLast = index === count - 1;
        const plainLength = isLast ? self.payloadLength - index * size : size;
        const sealed = await self.readRaw(self.payloadStart + index * (size + TAG_BYTES), plainLength + TAG_BYTES);
        if (sealed.length < plainLength + TAG_BYTES) throw truncated('the file ended early');
        yield () => openSegment(key, index, sealed, isLast ? self.payloadLength : null);
      }
    }
    let index = first;
    for await (const plain of ordered(jobs(), concurrency(), { rampUp: true })) {
      const base = index * size;
      index++;
      const from = Math.max(start - base, 0);
      const to = Math.min(end - base, plain.length);
      yield from === 0 && to === plain.length ? plain : plain.subarray(from, to);
    }
  }

  async readPayloadBuffer(start: number, end: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.payload(start, end)) parts.push(part);
    return Buffer.concat(parts);
  }

  /** Size of the codec-wrapped locator at the end of the compressed stream. */
  get locatorFrameLength(): number {
    return this.codec.wrapLocator(Buffer.alloc(LOCATOR_BYTES)).length;
  }

  async locator(): Promise<Locator> {
    const length = this.locatorFrameLength;
    if (this.payloadLength < length) throw truncated('the end marker is missing');
    const tail = await this.readPayloadBuffer(this.payloadLength - length, this.payloadLength);
    const loc = decodeLocator(this.codec.unwrapLocator(tail));
    if (loc && loc.tailOffset <= this.payloadLength - length && loc.tailTarOffset <= loc.tarLength) return loc;
    if (!this.encrypted) await this.explainMissingLocator(tail);
    throw damagedLocator();
  }

  /**
   * A plain archive whose end marker does not read back was cut short, had
   * bytes appended, or has a damaged end marker; each has its own code.
   */
  private async explainMissingLocator(tail: Buffer): Promise<never> {
    const window = Math.min(this.payloadLength, 4 << 20);
    const bytes = await this.readRaw(this.payloadLength - window, window);
    const at = bytes.lastIndexOf(LOCATOR_MAGIC);
    if (at >= 0 && decodeLocator(bytes.subarray(at, at + LOCATOR_BYTES))) {
      const template = this.codec.wrapLocator(Buffer.concat([LOCATOR_MAGIC, Buffer.alloc(LOCATOR_BYTES - 8)]));
      // Bytes after the locator record beyond what its wrapper puts there (gzip: 10, others: none).
      const extra = window - at - (template.length - template.indexOf(LOCATOR_MAGIC));
      if (extra > 0) {
        throw new AicoError('TRAILING_DATA', `The archive has about ${extra} unexpected bytes after its end.`, {
          hint: 'Something was appended to the file; use another copy of this backup.',
        });
      }
      if (extra === 0) throw damagedLocator();
      throw truncated('the end marker is cut short');
    }
    if (this.looksLikeLocatorFrame(tail)) throw damagedLocator();
    throw truncated('the end marker is missing');
  }

  /**
   * Whether the last bytes still hold most of a locator frame's fixed bytes
   * (the codec's wrapper and the magic): then one of its bytes was damaged.
   * A file cut inside its data almost never matches half of them.
   */
  private looksLikeLocatorFrame(tail: Buffer): boolean {
    const record = (fill: number) => Buffer.concat([LOCATOR_MAGIC, Buffer.alloc(LOCATOR_BYTES - 8, fill)]);
    const a = this.codec.wrapLocator(record(0x00));
    const b = this.codec.wrapLocator(record(0xff));
    let fixed = 0;
    let same = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) continue;
      fixed++;
      if (tail[i] === a[i]) same++;
    }
    return same * 2 >= fixed;
  }

  /** Decoded tar bytes from compressed offset `start` (a frame boundary) to `end`, in order. */
  tar(start: number, end: number, signal?: AbortSignal, onFrame?: (offset: number, tarBytes: number) => void): AsyncGenerator<Buffer> {
    const codec = this.codec;
    const frames = splitFrames(codec, this.payload(start, end, signal), start);
    async function* jobs() {
      for await (const frame of frames) {
        yield async () => {
          try {
            const out = await codec.decompressFrame(frame.data, MAX_FRAME_OUTPUT);
            return { offset: frame.offset, out };
          } catch (error) {
            throw new AicoError('CORRUPT_ARCHIVE', `Damaged ${codec.name} frame at byte ${frame.offset}: ${(error as Error).message}.`, {
              hint: 'Use another copy of this backup.',
              cause: error,
            });
          }
        };
      }
    }
    return (async function* () {
      for await (const { offset, out } of ordered(jobs(), concurrency(), { rampUp: true })) {
        onFrame?.(offset, out.length);
        yield out;
      }
    })();
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}

async function readAt(handle: ArchiveFile, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}
