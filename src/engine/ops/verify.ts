import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import { walkArchive, type VerifyProblem, type WalkHooks } from '../archive/walk.js';
import { noopSink, type OperationContext } from '../events.js';

export type { FileSink, VerifyProblem } from '../archive/walk.js';

export interface VerifyOptions extends WalkHooks {
  path: string;
  password?: PasswordProvider;
}

export interface VerifyResult {
  ok: boolean;
  path: string;
  id: string | null;
  encrypted: boolean;
  compression: string;
  files: number;
  bytes: number;
  problems: VerifyProblem[];
  durationMs: number;
}

/**
 * Reads the whole archive (archive/walk.ts): authenticates every segment,
 * decodes every frame, and checks every file against the manifest. Damage
 * that stops reading throws a coded error; mismatches are the result's
 * problems.
 */
export async function verify(opts: VerifyOptions, ctx: OperationContext = {}): Promise<VerifyResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  emit({ type: 'start', op: 'verify', path: opts.path });
  emit({ type: 'phase', phase: 'header', message: 'Checking the header' });
  const reader = await ArchiveReader.open(opts.path, opts.password ?? null, ctx.signal);
  try {
    const { manifest, metadata, problems } = await walkArchive(reader, opts, ctx);
    const durationMs = Date.now() - started;
    const ok = problems.length === 0;
    emit({ type: 'summary', op: 'verify', ok, durationMs, bytes: reader.fileSize });
    return {
      ok,
      path: opts.path,
      id: metadata?.id ?? reader.header?.header.id ?? null,
      encrypted: reader.encrypted,
      compression: reader.codec.name,
      files: manifest.files.length,
      bytes: reader.fileSize,
      problems,
      durationMs,
    };
  } finally {
    await reader.close();
  }
}
