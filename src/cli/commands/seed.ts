import { promises as fs } from 'node:fs';
import { AicoError, seedSample } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes } from '../format.js';

export async function runSeed(ctx: RunContext, flags: { size?: string; seed?: string; ifMissing?: boolean }): Promise<void> {
  const existing = await fs.readdir(ctx.home).catch(() => [] as string[]);
  if (existing.length > 0) {
    if (flags.ifMissing) {
      ctx.out.result({ home: ctx.home, seeded: false }, () => `${ctx.home} already holds data; left as it is.`);
      return;
    }
    throw new AicoError('USAGE', `${ctx.home} is not empty; refusing to write a sample over it.`, { hint: 'Choose an empty directory with --home.' });
  }
  const sizeMb = Number(flags.size ?? 32);
  if (!Number.isFinite(sizeMb) || sizeMb <= 0) throw new AicoError('USAGE', `--size must be a positive number of MiB (got "${flags.size}").`);
  const result = await seedSample({ home: ctx.home, sizeMb, seed: Number(flags.seed ?? 42) });
  ctx.out.result({ home: result.home, seeded: true, bytes: result.bytes, files: result.files }, () => `Sample AICO home in ${result.home}: ${result.files} files, ${formatBytes(result.bytes)}.`);
}
