export type CodecName = 'zstd' | 'gzip' | 'lz4' | 'none';

export const CODEC_NAMES: readonly CodecName[] = ['zstd', 'gzip', 'lz4', 'none'];

/** What a frame parser found at the start of a buffer. */
export type FrameScan =
  | { kind: 'incomplete' }
  | { kind: 'data'; length: number; /** upper bound of the decoded size */ maxOutput: number }
  | { kind: 'skippable'; length: number }
  | { kind: 'invalid'; reason: string };

/**
 * A compression codec as the archive uses it: the payload is a sequence of
 * independent frames, each holding at most one chunk of tar bytes, so frames
 * can be compressed and decompressed in parallel and the standard CLI tools
 * still read the concatenation.
 */
export interface Codec {
  readonly name: CodecName;
  /** File name extension, with dot, or '' for none. */
  readonly extension: string;
  /** Maps the user's level 1..9 onto the codec's own range; null if the codec has no levels. */
  codecLevel(userLevel: number): number | null;
  compressFrame(chunk: Buffer, codecLevel: number | null): Promise<Buffer>;
  /** Decodes one frame; refuses output larger than maxOutput (decompression bombs). */
  decompressFrame(frame: Buffer, maxOutput: number): Promise<Buffer>;
  /** Looks at the start of buf (a frame boundary) and says how long the next frame is. */
  scanFrame(buf: Buffer): FrameScan;
  /** Wraps the archive locator in a frame the codec's CLI skips (decodes to nothing). */
  wrapLocator(payload: Buffer): Buffer;
  /** Inverse of wrapLocator; null if buf is not such a frame. */
  unwrapLocator(buf: Buffer): Buffer | null;
}
