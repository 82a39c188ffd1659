import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError, throwIfAborted } from '../errors.js';
import { HOME_LAYOUT } from '../home/layout.js';
import { libsqlKeyFor } from '../keys/libsql-key.js';
import { DATABASE_ADAPTERS } from '../sources/adapters.js';

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every entry under `root` (files, links, directories), relative, sorted. */
async function walk(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...(await walk(root, p)));
  }
  return out.sort();
}

export interface Comparison {
  files: number;
  bytes: number;
  /** Databases opened with their engines in the copy, with the counts both agree on. */
  databases: { unit: string; engine: string; counts: Record<string, unknown> }[];
  /** Databases that could not be opened (libSQL without its master key): their bytes were still compared. */
  skipped: string[];
}

/**
 * Checks that `copy` holds exactly what `source` holds: the same entries, the
 * same SHA-256 for every file, the same link targets; then opens every
 * database of the copy with its engine and compares its counts with the
 * source's. Any difference is CHECKSUM_MISMATCH naming the path.
 */
export async function compareTrees(
  source: string,
  copy: string,
  opts: { masterKey: Buffer | null; env?: NodeJS.ProcessEnv; signal?: AbortSignal; onProgress?: (bytes: number) => void; scratch?: string },
): Promise<Comparison> {
  const [a, b] = await Promise.all([walk(source), walk(copy)]);
  const missing = a.filter((p) => !b.includes(p));
  const extra = b.filter((p) => !a.includes(p));
  if (missing.length || extra.length) {
    throw new AicoError('CHECKSUM_MISMATCH', `The encrypted copy differs from the home: ${missing.length ? `missing ${missing.slice(0, 3).join(', ')}` : ''}${extra.length ? ` extra ${extra.slice(0, 3).join(', ')}` : ''}.`, {
      hint: 'Nothing was switched over; the plaintext home is unchanged. Run the migration again (it copies again) or roll back.',
    });
  }
  let files = 0;
  let bytes = 0;
  for (const rel of a) {
    throwIfAborted(opts.signal);
    const [sa, sb] = await Promise.all([fs.lstat(path.join(source, rel)), fs.lstat(path.join(copy, rel))]);
    if (sa.isSymbolicLink() || sb.isSymbolicLink()) {
      const [la, lb] = await Promise.all([fs.readlink(path.join(source, rel)).catch(() => null), fs.readlink(path.join(copy, rel)).catch(() => null)]);
      if (la !== lb) throw mismatch(rel, 'link target');
      continue;
    }
    if (sa.isDirectory() !== sb.isDirectory()) throw mismatch(rel, 'type');
    if (!sa.isFile()) continue;
    if (sa.size !== sb.size || (await sha256(path.join(source, rel))) !== (await sha256(path.join(copy, rel)))) throw mismatch(rel, 'content');
    files++;
    bytes += sa.size;
    opts.onProgress?.(bytes);
  }
  const databases: Comparison['databases'] = [];
  const skipped: string[] = [];
  for (const unit of HOME_LAYOUT.filter((u) => u.kind === 'database')) {
    const [src, dst] = [path.join(source, ...unit.home.split('/')), path.join(copy, ...unit.home.split('/'))];
    if (!(await fs.stat(dst).then(() => true, () => false))) continue;
    let adapter;
    for (const candidate of DATABASE_ADAPTERS[unit.name] ?? []) if (!adapter && (await candidate.detect(dst))) adapter = candidate;
    if (!adapter) continue;
    let libsqlKey: string | null = null;
    if (adapter.name === 'libsql') {
      libsqlKey = (await libsqlKeyFor(source, opts.masterKey, { env: opts.env })).key;
      if (!libsqlKey) {
        skipped.push(unit.name);
        continue;
      }
    }
    // Chroma is checked by a server on a throwaway copy beside the store, which can take many seconds to exit after it
    // answers; on a mount that keeps the mount busy. Its files were just compared byte for byte through the mount, so
    // a copy of them read through it, in `scratch` (outside), is what the server opens.
    const outside = adapter.name === 'chromadb' && opts.scratch ? await fs.mkdtemp(path.join(opts.scratch, '.aico-chroma-check-')) : null;
    let vb;
    try {
      if (outside) await fs.cp(dst, outside, { recursive: true });
      vb = await adapter.validate(outside ?? dst, { libsqlKey, signal: opts.signal });
    } finally {
      if (outside) await fs.rm(outside, { recursive: true, force: true });
    }
    const va = await adapter.validate(src, { libsqlKey, signal: opts.signal });
    if (!vb.ok || JSON.stringify(va.counts) !== JSON.stringify(vb.counts)) {
      throw new AicoError('DATABASE_INVALID', `The ${adapter.name} database in the encrypted copy does not open as the original does: ${vb.ok ? `counts ${JSON.stringify(vb.counts)} instead of ${JSON.stringify(va.counts)}` : vb.problems.join('; ')}.`, {
        hint: 'Nothing was switched over; the plaintext home is unchanged. Roll back (aico backup migrate rollback) and try again.',
      });
    }
    databases.push({ unit: unit.name, engine: adapter.name, counts: vb.counts as Record<string, unknown> });
  }
  return { files, bytes, databases, skipped };
}

const mismatch = (rel: string, what: string) =>
  new AicoError('CHECKSUM_MISMATCH', `${rel} differs (${what}) between the home and its encrypted copy.`, {
    hint: 'Nothing was switched over; the plaintext home is unchanged. Run the migration again (it copies again) or roll back.',
  });
