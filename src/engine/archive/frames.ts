import type { Codec } from '../codec/types.js';
import { AicoError } from '../errors.js';

export interface Frame {
  /** Offset of the frame in the compressed stream. */
  offset: number;
  data: Buffer;
}

const corrupt = (message: string, offset: number) =>
  new AicoError('CORRUPT_ARCHIVE', `${message} at byte ${offset} of the compressed stream.`, {
    hint: 'The archive is damaged; use another copy of this backup.',
    details: { offset },
  });

/**
 * Cuts the compressed stream into the codec's frames (each decodable on its
 * own), without decoding anything. The only skippable frame an archive holds
 * is the locator at the very end, outside the ranges read here: one anywhere
 * else would be bytes no check covers, so it is refused.
 */
export async function* splitFrames(codec: Codec, input: AsyncIterable<Buffer>, startOffset: number): AsyncGenerator<Frame> {
  let offset = startOffset;
  if (codec.name === 'none') {
    for await (const chunk of input) {
      yield { offset, data: chunk };
      offset += chunk.length;
    }
    return;
  }
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      const scan = codec.scanFrame(buf);
      if (scan.kind === 'incomplete') break;
      if (scan.kind === 'invalid') throw corrupt(`Invalid ${codec.name} data (${scan.reason})`, offset);
      if (scan.kind === 'skippable') throw corrupt(`Unexpected skippable ${codec.name} frame`, offset);
      yield { offset, data: buf.subarray(0, scan.length) };
      offset += scan.length;
      buf = buf.subarray(scan.length);
    }
  }
  if (buf.length > 0) {
    throw new AicoError('TRUNCATED_ARCHIVE', `The archive ends inside a ${codec.name} frame at byte ${offset}.`, {
      hint: 'The file is incomplete (an interrupted copy?); use another copy of this backup.',
    });
  }
}
