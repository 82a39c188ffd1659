import { create, createOptionsFrom, type CreateFlags as EngineCreateFlags } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { passwordProvider, type PasswordFlags, type PasswordUse } from '../password.js';

export interface CreateFlags extends PasswordFlags {
  output?: string;
  encrypt?: boolean;
  compress?: boolean;
  compression?: string;
  compressionLevel?: string;
  include?: string;
  exclude?: string;
  allowLive?: boolean;
  type?: string;
  parent?: string;
  maxChain?: string;
  time?: string;
}

/** The engine's flags out of the command line's (the password flags stay here). */
export function engineFlags(flags: CreateFlags): EngineCreateFlags {
  const { output, encrypt, compress, compression, compressionLevel, include, exclude, allowLive, parent, maxChain, time } = flags;
  const type = flags.type as EngineCreateFlags['type'];
  return { output, encrypt, compress, compression, compressionLevel, include, exclude, allowLive, type, parent, maxChain, time };
}

/** `engine` is the real one except in tests that compare what the CLI and the TUI ask of it. */
export async function runCreate(ctx: RunContext, flags: CreateFlags, engine: { create: typeof create } = { create }): Promise<void> {
  const { backup: cfg } = await ctx.config();
  const { options, warnings } = createOptionsFrom(cfg, engineFlags(flags), { home: ctx.home });
  for (const warning of warnings) ctx.out.event({ type: 'warning', ...warning });
  const use: PasswordUse = { source: null };
  const result = await engine.create(
    { ...options, password: options.encrypt ? passwordProvider(flags, true, { purpose: 'create', useKeyring: true, use }) : undefined },
    { onEvent: (e) => ctx.out.event(e), signal: ctx.signal },
  );
  const keys = { password_source: use.source, master_key_source: result.masterKey.source, master_key_included: result.masterKey.included };
  ctx.out.result({ backup: result.backup, keys, warnings: [...warnings, ...result.warnings], duration_ms: result.durationMs }, () => {
    const b = result.backup;
    const sources = Object.entries(b.sources)
      .map(([name, s]) => `  ${name.padEnd(10)} ${String(s.files).padStart(5)} files  ${formatBytes(s.size_bytes)}`)
      .join('\n');
    return [
      `Backup created: ${b.path}`,
      b.type === 'full' ? '' : `  ${b.type} on ${b.parent_id} (link ${b.chain_length} of its chain); ${formatBytes(b.stored_bytes)} of ${formatBytes(b.data_bytes)} stored, the rest is in the chain`,
      `  ${formatBytes(b.bytes)}, ${b.encrypted ? 'encrypted' : 'NOT encrypted'}, ${b.compression}, ${b.files} files, ${formatDuration(result.durationMs)}`,
      sources,
      b.encrypted ? `  master key ${result.masterKey.included ? `included (from ${result.masterKey.source === 'env' ? 'AICO_MASTER_KEY' : 'the keyring'})` : 'NOT included'}` : '',
    ]
      .filter(Boolean)
      .join('\n');
  });
}
