import { formatVersionOf, readManifest, readMetadata } from '../archive/inspect.js';
import { storedSize } from '../archive/delta-blocks.js';
import type { Metadata } from '../archive/metadata.js';
import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import path from 'node:path';
import { noopSink, type OperationContext } from '../events.js';
import { purposeOf } from './list.js';

export interface InfoOptions {
  path: string;
  password?: PasswordProvider;
}

export interface InfoResult {
  path: string;
  bytes: number;
  encrypted: boolean;
  compression: string;
  /** Archive format version (metadata.backup_version); same meaning as in list. */
  format_version: number;
  /** Version of the encrypted container (equals format_version); null for unencrypted archives. */
  container_version: number | null;
  /** As in list: "backup", or "pre-restore" for a restore's safety backup (metadata.purpose, else the file name's label). */
  purpose: string;
  metadata: Metadata;
  /** `bytes`: the files of the restore point; `stored_bytes`: what this archive stores of them (less for a delta). */
  contents: { files: number; bytes: number; stored_bytes: number; bySource: Record<string, { files: number; bytes: number }> };
}

/** Metadata and a summary of the contents; decodes only the first frame and the tail. */
export async function info(opts: InfoOptions, ctx: OperationContext = {}): Promise<InfoResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  emit({ type: 'start', op: 'info', path: opts.path });
  const reader = await ArchiveReader.open(opts.path, opts.password ?? null, ctx.signal);
  try {
    const { metadata } = await readMetadata(reader);
    // An encrypted archive of a newer format is refused by its header; a plain one only here.
    const formatVersion = formatVersionOf(metadata);
    const { manifest } = await readManifest(reader);
    const bySource: InfoResult['contents']['bySource'] = {};
    for (const f of manifest.files) {
      const s = (bySource[f.source] ??= { files: 0, bytes: 0 });
      s.files++;
      s.bytes += f.size;
    }
    emit({ type: 'summary', op: 'info', ok: true, durationMs: Date.now() - started, bytes: reader.fileSize });
    return {
      path: opts.path,
      bytes: reader.fileSize,
      encrypted: reader.encrypted,
      compression: reader.codec.name,
      format_version: formatVersion,
      container_version: reader.header?.version ?? null,
      purpose: typeof metadata.purpose === 'string' ? metadata.purpose : purposeOf(path.basename(opts.path)),
      metadata,
      contents: {
        files: manifest.files.length,
        bytes: manifest.files.reduce((n, f) => n + f.size, 0),
        stored_bytes: manifest.files.reduce((n, f) => n + storedSize(f), 0),
        bySource,
      },
    };
  } finally {
    await reader.close();
  }
}
