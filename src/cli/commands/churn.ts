import { AicoError, churnHome, formatDuration } from '../../engine/index.js';
import type { RunContext } from '../context.js';

export interface ChurnFlags {
  percent?: string;
  seed?: string;
}

export async function runChurn(ctx: RunContext, flags: ChurnFlags): Promise<void> {
  const seed = Number(flags.seed ?? 1);
  if (!Number.isSafeInteger(seed)) throw new AicoError('USAGE', `--seed must be an integer (got "${flags.seed}").`);
  // Number('') is 0 and Number('0x10') is 16: only a plain decimal is a percentage (the range is the engine's to check).
  if (flags.percent !== undefined && !/^\d*\.?\d+$/.test(flags.percent.trim())) {
    throw new AicoError('USAGE', `--percent must be a number above 0 and at most 100 (got "${flags.percent}").`);
  }
  const percent = flags.percent === undefined ? null : Number(flags.percent);
  ctx.out.event({ type: 'phase', phase: 'scan', message: `Changing the sample AICO home in ${ctx.home} as a day of use would` });
  const r = await churnHome({ home: ctx.home, seed, percent });
  ctx.out.result({ ...r }, () =>
    [
      `Churned ${r.home} (seed ${r.seed}) in ${formatDuration(r.duration_ms)}:`,
      `  libsql   ${r.libsql.logs_appended} log rows and ${r.libsql.events_appended} events appended, ${r.libsql.logs_updated} log rows rewritten${r.percent === null ? '' : ` (${r.percent}%)`}`,
      r.chromadb ? `  chromadb ${r.chromadb.conversations_added} conversation segments and ${r.chromadb.facts_added} user facts added` : '',
      r.lmdb ? `  lmdb     ${r.lmdb.rewritten} working-memory entries rewritten, ${r.lmdb.added} added` : '',
      ...Object.entries(r.skipped).map(([name, why]) => `  ${name.padEnd(8)} skipped: ${why}`),
    ]
      .filter(Boolean)
      .join('\n'),
  );
}
