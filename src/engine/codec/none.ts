import type { Codec } from './types.js';

/** No compression: the payload is the tar itself; the locator follows the tar's end blocks. */
export const noneCodec: Codec = {
  name: 'none',
  extension: '',
  codecLevel: () => null,
  compressFrame: async (chunk) => chunk,
  async decompressFrame(frame, maxOutput) {
    if (frame.length > maxOutput) throw new Error(`frame larger than ${maxOutput} bytes`);
    return frame;
  },
  scanFrame: (buf) => (buf.length === 0 ? { kind: 'incomplete' } : { kind: 'data', length: buf.length, maxOutput: buf.length }),
  wrapLocator: (payload) => payload,
  unwrapLocator: (buf) => buf,
};
