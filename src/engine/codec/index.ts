import { AicoError } from '../errors.js';
import { gzipCodec } from './gzip.js';
import { lz4Codec } from './lz4.js';
import { noneCodec } from './none.js';
import type { Codec, CodecName } from './types.js';
import { zstdCodec } from './zstd.js';

export type { Codec, CodecName, FrameScan } from './types.js';
export { CODEC_NAMES } from './types.js';

const CODECS: Record<CodecName, Codec> = { zstd: zstdCodec, gzip: gzipCodec, lz4: lz4Codec, none: noneCodec };

export function getCodec(name: string): Codec {
  const codec = CODECS[name as CodecName];
  if (!codec) {
    throw new AicoError('USAGE', `Unknown compression "${name}".`, { hint: 'Use one of: zstd, gzip, lz4, none.' });
  }
  return codec;
}

export function codecForExtension(ext: string): Codec | undefined {
  return Object.values(CODECS).find((c) => c.extension === ext);
}
