/**
 * Runs async jobs with bounded concurrency and hands their results on in
 * submission order. `submit` waits while the pool is full, which is how
 * back-pressure reaches the producer and keeps memory bounded.
 */
export class OrderedPool<T> {
  private readonly queue: Promise<T>[] = [];
  private failure: unknown = undefined;

  constructor(
    private readonly concurrency: number,
    private readonly emit: (result: T) => Promise<void> | void,
  ) {}

  async submit(job: () => Promise<T>): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const promise = job();
    // A rejection is observed when its turn comes; avoid an unhandled-rejection crash meanwhile.
    promise.catch(() => {});
    this.queue.push(promise);
    while (this.queue.length >= this.concurrency) await this.drainOne();
  }

  /** Waits for every submitted job and emits the rest. */
  async flush(): Promise<void> {
    while (this.queue.length > 0) await this.drainOne();
  }

  private async drainOne(): Promise<void> {
    const head = this.queue.shift();
    if (!head) return;
    try {
      await this.emit(await head);
    } catch (error) {
      this.failure ??= error;
      throw error;
    }
  }
}
