import tar from 'tar-stream';
import type { Readable } from 'node:stream';
import { AicoError } from '../errors.js';

export interface TarEntry {
  header: tar.Header;
  stream: Readable & AsyncIterable<Buffer>;
}

/**
 * Parses a tar byte stream and hands each entry to `onEntry` in order. Return
 * false from `onEntry` to stop early; the input iterator is then closed so
 * whatever it holds open (file handles) is released.
 */
export async function parseTar(
  input: AsyncIterable<Buffer>,
  onEntry: (entry: TarEntry) => Promise<boolean | void>,
): Promise<void> {
  const extract = tar.extract();
  const iterator = input[Symbol.asyncIterator]();
  let stopped = false;
  let feedError: unknown = null;
  const waitWritable = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        extract.off('drain', done);
        extract.off('close', done);
        resolve();
      };
      extract.on('drain', done);
      extract.on('close', done);
    });
  const feed = (async () => {
    try {
      for (;;) {
        if (stopped) return;
        const next = await iterator.next();
        if (next.done) break;
        if (stopped) return;
        if (!extract.write(next.value)) await waitWritable();
      }
      (extract as unknown as { end(): void }).end();
    } catch (error) {
      feedError = error;
      extract.destroy(error as Error);
    } finally {
      if (stopped) await iterator.return?.(undefined).catch(() => {});
    }
  })();
  try {
    for await (const entry of extract as AsyncIterable<TarEntry['stream'] & { header: tar.Header }>) {
      const keepGoing = await onEntry({ header: entry.header, stream: entry });
      if (keepGoing === false) {
        stopped = true;
        break;
      }
      entry.resume();
    }
  } catch (error) {
    stopped = true;
    extract.destroy();
    await feed;
    throw coded(feedError ?? error);
  }
  if (stopped) {
    extract.destroy();
    await feed;
    return;
  }
  await feed;
  if (feedError) throw coded(feedError);
}

/**
 * tar-stream reports a damaged tar ("Unexpected end of data", "Invalid tar
 * header") with plain Errors; in an archive that passed authentication (or a
 * plain one) that is a damaged archive, not an internal error. Our own coded
 * errors and programming errors (TypeError, ...) pass through unchanged.
 */
function coded(error: unknown): unknown {
  if (error instanceof AicoError || !(error instanceof Error) || error.constructor !== Error || error.name === 'AbortError') return error;
  return new AicoError('CORRUPT_ARCHIVE', `The tar stream in the archive is damaged: ${error.message}.`, {
    hint: 'Use another copy of this backup.',
    cause: error,
  });
}
