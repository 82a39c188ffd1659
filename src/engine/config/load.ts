import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { xdgData } from 'xdg-basedir';
import { AicoError } from '../errors.js';
import type { BackupConfig } from './schema.js';

// yaml and zod are loaded on first use: together they are most of the CLI's start-up time.

export const DEFAULTS_FILE = fileURLToPath(new URL('../../../config/defaults/core.yaml', import.meta.url));

/** --home, else $AICO_HOME, else ${XDG_DATA_HOME:-~/.local/share}/aico. */
export function resolveHome(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env.AICO_HOME;
  if (chosen) return path.resolve(expandTilde(chosen));
  const base = env.XDG_DATA_HOME || xdgData || path.join(homedir(), '.local', 'share');
  return path.join(base, 'aico');
}

export function expandTilde(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(homedir(), p.slice(1)) : p;
}

async function readBackupSection(file: string, required: boolean): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AicoError('CONFIG_INVALID', `Cannot read ${file}: ${(error as Error).message}`);
  }
  return backupSectionOf(text, file);
}

async function backupSectionOf(text: string, file: string): Promise<Record<string, unknown> | null> {
  let doc: unknown;
  try {
    doc = (await import('yaml')).parse(text);
  } catch (error) {
    throw new AicoError('CONFIG_INVALID', `${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (doc === null || doc === undefined) return null;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new AicoError('CONFIG_INVALID', `${file}: expected a mapping at the top level.`);
  const section = (doc as Record<string, unknown>).backup;
  if (section === undefined || section === null) return null;
  if (typeof section !== 'object' || Array.isArray(section)) throw new AicoError('CONFIG_INVALID', `${file}: "backup" must be a mapping.`);
  return section as Record<string, unknown>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/** The section as the schema reads it (defaults filled in), or CONFIG_INVALID naming the file and each key at fault. */
async function validate(section: Record<string, unknown>, file: string): Promise<BackupConfig> {
  const { backupConfigSchema } = await import('./schema.js');
  const parsed = backupConfigSchema.safeParse(section);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = ['backup', ...issue.path.map(String)].join('.');
    const message = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return `${key}: ${message}`;
  });
  throw new AicoError('CONFIG_INVALID', `Invalid configuration in ${file}:\n  ${problems.join('\n  ')}`, {
    hint: 'Fix or remove those keys; config/defaults/core.yaml shows every key with its default.',
    details: { file, problems },
  });
}

export interface LoadedConfig {
  backup: BackupConfig;
  /** Files that contributed, in order of precedence (last wins). */
  files: string[];
}

/** Checks `text` as the home's core.yaml would be checked (over the defaults), before it is written to `file`. */
export async function checkUserConfig(text: string, file: string): Promise<BackupConfig> {
  const defaults = (await readBackupSection(DEFAULTS_FILE, true))!;
  const user = await backupSectionOf(text, file);
  return validate(user ? merge(defaults, user) : defaults, file);
}

/** Defaults, then <home>/config/core.yaml. Each file is checked, naming the file and key at fault. */
export async function loadConfig(home: string): Promise<LoadedConfig> {
  const defaults = await readBackupSection(DEFAULTS_FILE, true);
  if (!defaults) throw new AicoError('INTERNAL', `${DEFAULTS_FILE} has no backup section.`);
  let backup = await validate(defaults, DEFAULTS_FILE);
  const files = [DEFAULTS_FILE];
  const userFile = path.join(home, 'config', 'core.yaml');
  const user = await readBackupSection(userFile, false);
  if (user) {
    // Checked after merging so a user file may set just one key; errors still name that file.
    backup = await validate(merge(defaults, user), userFile);
    files.push(userFile);
  }
  return { backup, files };
}
