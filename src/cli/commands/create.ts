import path from 'node:path';
import { AicoError, create, expandTilde, type CodecName } from '../../engine/index.js';
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
}

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

export async function runCreate(ctx: RunContext, flags: CreateFlags): Promise<void> {
  const { backup: cfg } = await ctx.config();
  const encrypt = flags.encrypt ?? cfg.encrypt;
  if (flags.compress === false && flags.compression && flags.compression !== 'none') {
    throw new AicoError('USAGE', '--no-compress and --compression contradict each other.');
  }
  const compression = (flags.compress === false ? 'none' : flags.compression ?? cfg.compression) as CodecName;
  let level = cfg.compression_level;
  const warnings: { code: string; message: string }[] = [];
  if (flags.compressionLevel !== undefined) {
    level = Number(flags.compressionLevel);
    if (!Number.isInteger(level) || level < 1 || level > 9) {
      throw new AicoError('USAGE', `--compression-level must be an integer from 1 to 9 (got "${flags.compressionLevel}").`);
    }
    if (compression === 'lz4' || compression === 'none') {
      const warning = { code: 'LEVEL_IGNORED', message: `${compression} has a single level; --compression-level is ignored.` };
      warnings.push(warning);
      ctx.out.event({ type: 'warning', ...warning });
    }
  }
  const use: PasswordUse = { source: null };
  const result = await create(
    {
      home: ctx.home,
      outputDir: path.resolve(flags.output ?? expandTilde(cfg.output_dir)),
      encrypt,
      password: encrypt ? passwordProvider(flags, true, { useKeyring: true, use }) : undefined,
      compression,
      compressionLevel: level,
      include: list(flags.include) ?? cfg.include,
      exclude: list(flags.exclude) ?? (flags.include ? [] : cfg.exclude),
      allowLive: flags.allowLive ?? false,
    },
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
      `  ${formatBytes(b.bytes)}, ${b.encrypted ? 'encrypted' : 'NOT encrypted'}, ${b.compression}, ${b.files} files, ${formatDuration(result.durationMs)}`,
      sources,
      b.encrypted ? `  master key ${result.masterKey.included ? `included (from ${result.masterKey.source === 'env' ? 'AICO_MASTER_KEY' : 'the keyring'})` : 'NOT included'}` : '',
    ]
      .filter(Boolean)
      .join('\n');
  });
}
