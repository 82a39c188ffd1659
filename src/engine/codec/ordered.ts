/**
 * Starts up to `concurrency` jobs ahead and yields their results in order:
 * parallel work with sequential output and bounded memory.
 */
export async function* ordered<T>(jobs: AsyncIterable<() => Promise<T>>, concurrency: number, opts: { rampUp?: boolean } = {}): AsyncGenerator<T> {
  const queue: Promise<T>[] = [];
  // rampUp: one job ahead at first, one more after each result, up to `concurrency`: a consumer that
  // stops after the first result (an archive's metadata) has not made the others read ahead for nothing.
  let ahead = opts.rampUp ? 1 : concurrency;
  try {
    for await (const job of jobs) {
      const promise = job();
      promise.catch(() => {});
      queue.push(promise);
      if (queue.length >= ahead) {
        yield await queue.shift()!;
        ahead = Math.min(concurrency, ahead + 1);
      }
    }
    while (queue.length > 0) yield await queue.shift()!;
  } finally {
    queue.length = 0;
  }
}
