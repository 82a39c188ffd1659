import { AicoError } from '../errors.js';
import type { ScannedSource } from '../sources/scan.js';

export interface SnapshotChecks {
  /** The signal the archive writer runs under: aborted by the caller's signal or by a failed check. */
  signal: AbortSignal;
  /** Waits for every check; throws the first failure. */
  passed(): Promise<void>;
  /** Stops the checks (the write failed for another reason); returns a check's failure if one came first. */
  abandon(): Promise<Error | null>;
}

/**
 * Starts each snapshot's deferred check (a full integrity read of the staged
 * copy) beside the archive writer, on the other core. The first failure
 * cancels the write, so a backup of a damaged copy is never kept.
 */
export function startSnapshotChecks(sources: readonly ScannedSource[], parent?: AbortSignal): SnapshotChecks {
  const controller = new AbortController();
  const forward = () => controller.abort(parent?.reason);
  if (parent?.aborted) forward();
  else parent?.addEventListener('abort', forward, { once: true });
  let failure: Error | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    controller.abort(error);
  };
  const running = sources
    .filter((s) => s.check)
    .map((s) =>
      s.check!(controller.signal).then(
        (result) => {
          if (!result.ok) {
            fail(
              new AicoError('DATABASE_INVALID', `The snapshot of ${s.name} does not validate: ${result.problems.join('; ')}.`, {
                hint: 'Check the live database with AICO; no backup was written.',
              }),
            );
          }
        },
        (error: Error) => {
          // Once aborted (cancel, an earlier failure, abandon), a check's own cancellation is no news.
          if (!controller.signal.aborted) fail(error);
        },
      ),
    );
  const settle = async () => {
    await Promise.all(running);
    parent?.removeEventListener('abort', forward);
  };
  return {
    signal: controller.signal,
    async passed() {
      await settle();
      if (failure) throw failure;
    },
    async abandon() {
      const first = failure;
      if (!controller.signal.aborted) controller.abort();
      await settle();
      return first;
    },
  };
}
