import path from 'node:path';
import { AicoError, isAicoError, isNoSpace } from '../errors.js';

/** The errno error behind `error`, if any, with the path it was about. */
function errnoCause(error: unknown): NodeJS.ErrnoException | undefined {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof (e as NodeJS.ErrnoException).code === 'string' && !(e instanceof AicoError)) return e as NodeJS.ErrnoException;
  }
  return undefined;
}

/**
 * The database snapshots are staged in the backup directory, so a full disk
 * while taking them is that directory's disk; the copy routines name the
 * home file they were copying from, which sends the user to the wrong disk.
 * A full disk reported for a path elsewhere (the home's own, say) is left as it is.
 */
export function stagingNoSpace(error: unknown, outputDir: string): unknown {
  if (!isNoSpace(error) || isAicoError(error, 'CANCELLED')) return error;
  const errno = errnoCause(error) as (NodeJS.ErrnoException & { dest?: string }) | undefined;
  const where = errno?.dest ?? errno?.path;
  if (where && path.relative(path.resolve(outputDir), path.resolve(where)).startsWith('..')) return error;
  return new AicoError('NO_SPACE', `No space left in ${outputDir} for the database snapshots, which are staged there before they are archived.`, {
    hint: 'Free some space on that disk or choose another output directory with --output.',
    cause: error,
  });
}
