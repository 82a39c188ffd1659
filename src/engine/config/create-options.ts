import path from 'node:path';
import { isRemote, parseS3, s3Url } from '../store/location.js';
import { CODEC_NAMES, type CodecName } from '../codec/types.js';
import type { Warning } from '../codes.js';
import { AicoError } from '../errors.js';
import type { CreateOptions } from '../ops/create.js';
import { selectSources } from '../sources/catalog.js';
import type { RequestedType } from '../ops/create-type.js';
import { expandTilde } from './load.js';
import { parseBackupTime } from '../ops/backup-time.js';
import type { BackupConfig } from './schema.js';

/**
 * What a caller asks of one create on top of the configuration: the CLI's
 * flags, the TUI's form, a scheduled run. Left out means "as configured".
 */
export interface CreateFlags {
  output?: string;
  encrypt?: boolean;
  /** false: no compression, as compression "none". */
  compress?: boolean;
  compression?: string;
  /** 1..9; a string as typed on the command line. */
  compressionLevel?: string | number;
  /** Source names, as a list or comma-separated. Given without `exclude`, the configured exclude list does not apply. */
  include?: string | readonly string[];
  exclude?: string | readonly string[];
  allowLive?: boolean;
  type?: RequestedType;
  parent?: string;
  /** Longest chain, as typed; default backup.max_chain. */
  maxChain?: string | number;
  /** The backup's recorded time, "YYYY-MM-DD HH:MM[:SS]" local (create --time); default now. */
  time?: string;
}

export interface CreatePlan {
  /** Everything but the password, which each caller gets its own way. */
  options: CreateOptions;
  /** Emitted by the caller before create runs (e.g. LEVEL_IGNORED). */
  warnings: Warning[];
}

/** The backup directory: the flag, else backup.output_dir; `~` expanded, made absolute. An s3:// URL is taken as written, checked. */
export function outputDirFrom(config: BackupConfig, flag?: string): string {
  const given = flag ?? config.output_dir;
  if (isRemote(given)) return s3Url(parseS3(given));
  return path.resolve(expandTilde(given));
}

const list = (v: string | readonly string[] | undefined) =>
  v === undefined ? undefined : (typeof v === 'string' ? v.split(',') : [...v]).map((x) => x.trim()).filter(Boolean);

/**
 * Configuration + flags -> create options: the one place that decides what
 * a create does, so the CLI, the TUI and the scheduler cannot drift apart.
 */
export function createOptionsFrom(config: BackupConfig, flags: CreateFlags, where: { home: string }): CreatePlan {
  const warnings: CreatePlan['warnings'] = [];
  if (flags.compress === false && flags.compression && flags.compression !== 'none') {
    throw new AicoError('USAGE', '--no-compress and --compression contradict each other.');
  }
  const compression = flags.compress === false ? 'none' : (flags.compression ?? config.compression);
  if (!CODEC_NAMES.includes(compression as CodecName)) {
    throw new AicoError('USAGE', `Unknown compression "${compression}".`, { hint: `Choose one of ${CODEC_NAMES.join(', ')}.` });
  }
  let level = config.compression_level;
  if (flags.compressionLevel !== undefined) {
    level = Number(flags.compressionLevel);
    if (!Number.isInteger(level) || level < 1 || level > 9) {
      throw new AicoError('USAGE', `--compression-level must be an integer from 1 to 9 (got "${flags.compressionLevel}").`);
    }
    if (compression === 'lz4' || compression === 'none') {
      warnings.push({ code: 'LEVEL_IGNORED', message: `${compression} has a single level; the compression level is ignored.` });
    }
  }
  const include = list(flags.include);
  const maxChain = flags.maxChain === undefined ? config.max_chain : Number(flags.maxChain);
  if (!Number.isInteger(maxChain) || maxChain < 1) throw new AicoError('USAGE', `--max-chain must be a whole number of at least 1 (got "${flags.maxChain}").`);
  const options: CreateOptions = {
    home: where.home,
    outputDir: outputDirFrom(config, flags.output),
    encrypt: flags.encrypt ?? config.encrypt,
    compression: compression as CodecName,
    compressionLevel: level,
    include: include ?? [...config.include],
    exclude: list(flags.exclude) ?? (include ? [] : [...config.exclude]),
    // Only what was asked for: create's own defaults stand for the rest.
    ...(flags.allowLive !== undefined ? { allowLive: flags.allowLive } : {}),
    ...(flags.type !== undefined ? { backupType: flags.type } : {}),
    ...(flags.parent !== undefined ? { parent: flags.parent } : {}),
    ...(flags.time !== undefined ? { now: parseBackupTime(flags.time) } : {}),
    maxChain,
  };
  return { options, warnings };
}

/** The catalog names (libsql, chromadb, working, ...) the options select, in catalog order. */
export function selectedSources(options: Pick<CreateOptions, 'include' | 'exclude'>): string[] {
  return selectSources(options.include, options.exclude).map((s) => s.name);
}
