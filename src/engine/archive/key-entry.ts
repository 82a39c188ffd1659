import { KEY_ENTRY, METADATA_ENTRY } from './layout.js';
import { readEntryBuffer } from './inspect.js';
import type { ArchiveReader } from './reader.js';
import { parseTar } from './tar-in.js';

/** encryption_key.enc, which follows metadata.json when present; only the archive's first frame(s) are decoded. */
export async function readKeyEntry(reader: ArchiveReader): Promise<Buffer | null> {
  let key: Buffer | null = null;
  await parseTar(reader.tar(0, reader.payloadLength - reader.locatorFrameLength), async (entry) => {
    if (entry.header.name === METADATA_ENTRY) {
      for await (const _ of entry.stream) void _;
      return true;
    }
    if (entry.header.name === KEY_ENTRY) key = await readEntryBuffer(entry, 64 << 10);
    return false;
  });
  return key;
}
