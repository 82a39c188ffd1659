import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';

/**
 * Settings AICO itself reads that decide how its data is keyed. AICO merges
 * its install's config/defaults/<domain>.yaml, config/environments and
 * config/user/<domain>.yaml, then <config dir>/runtime.yaml, whose top-level
 * keys are domains (shared/aico/core/config.py). Only the last one lives in
 * the home (<home>/config, or $AICO_CONFIG_DIR as AICOPaths resolves it), so
 * that is the override this tool can see; the defaults are AICO's own.
 */
export const AICO_DEFAULT_PBKDF2_ITERATIONS = 100_000;

export interface AicoKdfSettings {
  iterations: number;
  /** Where the value came from: "AICO default" or a file path. */
  from: string;
}

export function aicoConfigDir(home: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.AICO_CONFIG_DIR ? path.resolve(env.AICO_CONFIG_DIR) : path.join(home, 'config');
}

function dig(doc: unknown, keys: readonly string[]): unknown {
  let at: unknown = doc;
  for (const k of keys) {
    if (!at || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[k];
  }
  return at;
}

const ITERATIONS_KEY = ['security', 'encryption', 'key_derivation', 'pbkdf2', 'iterations'] as const;

/** AICO's PBKDF2 iteration count for the libSQL key, as the home's configuration sets it. */
export async function aicoKdfSettings(configDir: string): Promise<AicoKdfSettings> {
  const file = path.join(configDir, 'runtime.yaml');
  const text = await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) return { iterations: AICO_DEFAULT_PBKDF2_ITERATIONS, from: 'AICO default' };
  let doc: unknown;
  try {
    doc = (await import('yaml')).parse(text);
  } catch (error) {
    throw new AicoError('CONFIG_INVALID', `${file} is not valid YAML: ${(error as Error).message}`, {
      hint: 'AICO reads this file too; fix it with AICO or a text editor.',
    });
  }
  const value = dig(doc, ITERATIONS_KEY);
  if (value === undefined || value === null) return { iterations: AICO_DEFAULT_PBKDF2_ITERATIONS, from: 'AICO default' };
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new AicoError('CONFIG_INVALID', `${file}: ${ITERATIONS_KEY.join('.')} must be a positive whole number, not ${JSON.stringify(value)}.`, {
      hint: 'AICO derives its database key with this count; fix the value AICO was set up with.',
    });
  }
  return { iterations: value, from: file };
}
