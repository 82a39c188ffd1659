/**
 * Starts up to `concurrency` jobs ahead and yields their results in order:
 * parallel work with sequential output and bounded memory.
 */
export async function* ordered<T>(jobs: AsyncIterable<() => Promise<T>>, concurrency: number): AsyncGenerator<T> {
  const queue: Promise<T>[] = [];
  try {
    for await (const job of jobs) {
      const promise = job();
      promise.catch(() => {});
      queue.push(promise);
      if (queue.length >= concurrency) yield await queue.shift()!;
    }
    while (queue.length > 0) yield await queue.shift()!;
  } finally {
    queue.length = 0;
  }
}
