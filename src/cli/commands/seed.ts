import { promises as fs } from 'node:fs';
import { AicoError, sampleMasterKey, sampleSeedOf, seedFiles, seedSample, type WorkingStore } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes } from '../format.js';

export interface SeedFlags {
  size?: string;
  seed?: string;
  ifMissing?: boolean;
  /** Commander has checked it against WORKING_STORES. */
  working?: WorkingStore;
  files?: boolean;
}

export async function runSeed(ctx: RunContext, flags: SeedFlags): Promise<void> {
  const seed = Number(flags.seed ?? 42);
  const existing = await fs.readdir(ctx.home).catch(() => [] as string[]);
  if (existing.length > 0) {
    if (flags.ifMissing) {
      // Only a home this command built gets its (sample) key printed; a real home's key is never derived or shown.
      const sampleSeed = await sampleSeedOf(ctx.home);
      const masterKey = sampleSeed === null ? null : sampleMasterKey(sampleSeed);
      ctx.out.result({ home: ctx.home, seeded: false, master_key: masterKey }, () => `${ctx.home} already holds data; left as it is.`);
      return;
    }
    throw new AicoError('USAGE', `${ctx.home} is not empty; refusing to write a sample over it.`, { hint: 'Choose an empty directory with --home.' });
  }
  const sizeMb = Number(flags.size ?? 32);
  if (!Number.isFinite(sizeMb) || sizeMb <= 0) throw new AicoError('USAGE', `--size must be a positive number of MiB (got "${flags.size}").`);
  if (flags.files) {
    const r = await seedFiles({ home: ctx.home, sizeMb, seed });
    ctx.out.result({ home: r.home, seeded: true, bytes: r.bytes, files: r.files, master_key: null }, () => `Mixed sample files in ${r.home} (models/, cache/, config/): ${r.files} files, ${formatBytes(r.bytes)}.`);
    return;
  }
  ctx.out.event({ type: 'phase', phase: 'scan', message: `Building a sample AICO home in ${ctx.home} with libSQL, Chroma and ${flags.working ?? 'lmdb'}` });
  const r = await seedSample({ home: ctx.home, sizeMb, seed, working: flags.working ?? 'lmdb' });
  ctx.out.result(
    { home: r.home, seeded: true, bytes: r.bytes, files: r.files, databases: r.databases, master_key: r.masterKey },
    () =>
      [
        `Sample AICO home in ${r.home}: ${r.files} files, ${formatBytes(r.bytes)}.`,
        `Its (sample) master key opens the libSQL database: export AICO_MASTER_KEY=${r.masterKey}`,
      ].join('\n'),
  );
}
