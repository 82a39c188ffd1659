import { BLOCK_HASH_BYTES, DELTA_PREFIX } from './layout.js';
import type { ManifestFile, StoredAs } from './metadata.js';

/** Where a manifest file's content is (docs/FORMAT.md §18); format 1 files are always whole. */
export const storedAs = (f: ManifestFile): StoredAs => f.stored ?? 'whole';

/** The tar entry that holds a file's stored bytes, or null when they are all in the parent. */
export function entryNameOf(f: ManifestFile): string | null {
  const stored = storedAs(f);
  return stored === 'whole' ? f.path : stored === 'blocks' ? DELTA_PREFIX + f.path : null;
}

/** Bytes a file's block range [first, first + count) covers (the file's last block may be short). */
export const runBytes = (f: Pick<ManifestFile, 'size' | 'block_size'>, first: number, count: number): number =>
  Math.max(0, Math.min(f.size, (first + count) * f.block_size) - first * f.block_size);

/** Size of the entry that holds a file's stored bytes (0 when it has none). */
export function storedSize(f: ManifestFile): number {
  const stored = storedAs(f);
  if (stored === 'whole') return f.size;
  if (stored === 'parent') return 0;
  return (f.changed ?? []).reduce((sum, [first, count]) => sum + runBytes(f, first, count), 0);
}

/**
 * Runs of blocks whose hash differs from the parent's at the same index
 * (blocks past the parent's end count as changed): [first, count], ascending,
 * never touching, so the same content always gives the same runs.
 */
export function changedRuns(hashes: Buffer, parent: Buffer): [number, number][] {
  const runs: [number, number][] = [];
  const count = hashes.length / BLOCK_HASH_BYTES;
  const parentCount = parent.length / BLOCK_HASH_BYTES;
  for (let i = 0; i < count; i++) {
    const at = i * BLOCK_HASH_BYTES;
    const same = i < parentCount && hashes.compare(parent, at, at + BLOCK_HASH_BYTES, at, at + BLOCK_HASH_BYTES) === 0;
    if (same) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === i) last[1]++;
    else runs.push([i, 1]);
  }
  return runs;
}

/** The hashes of the blocks `runs` name, back to back, out of a file's full run of hashes. */
export function hashesOfRuns(hashes: Buffer, runs: [number, number][]): Buffer {
  return Buffer.concat(runs.map(([first, count]) => hashes.subarray(first * BLOCK_HASH_BYTES, (first + count) * BLOCK_HASH_BYTES)));
}

/**
 * Why `changed` cannot describe blocks of `f`, or null when it can
 * (ascending, in range, not touching; empty for a file that only got shorter).
 */
export function badRuns(f: ManifestFile): string | null {
  const runs = f.changed;
  if (!Array.isArray(runs)) return 'no list of changed blocks';
  let end = -1;
  for (const run of runs) {
    if (!Array.isArray(run) || run.length !== 2 || !run.every((n) => Number.isSafeInteger(n) && n >= 0)) return 'a run is not two counts';
    const [first, count] = run as [number, number];
    if (count === 0 || first <= end || first + count > f.blocks_count) return 'runs out of order, touching or past the end';
    end = first + count;
  }
  return null;
}
