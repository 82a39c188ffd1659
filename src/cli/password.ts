import { promises as fs } from 'node:fs';
import { AicoError } from '../engine/index.js';

export interface PasswordFlags {
  passwordStdin?: boolean;
  passwordFile?: string;
}

function stripNewline(buf: Buffer): Buffer {
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  if (end > 0 && buf[end - 1] === 0x0d) end--;
  return buf.subarray(0, end);
}

async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return stripNewline(Buffer.concat(parts));
}

async function prompt(message: string): Promise<Buffer> {
  try {
    return Buffer.from(String(await (await import('read')).read({ prompt: message, silent: true, output: process.stderr })));
  } catch {
    throw new AicoError('CANCELLED', 'Password entry cancelled.');
  }
}

/**
 * Where the backup password comes from, in order: --password-stdin,
 * --password-file, $AICO_BACKUP_PASSWORD, then a no-echo prompt on a
 * terminal (asked twice when creating). Never from argv. Returns null when
 * there is no source, so the engine can say what to do instead of hanging.
 */
export function passwordProvider(flags: PasswordFlags, confirm: boolean): (() => Promise<Buffer>) | undefined {
  if (flags.passwordStdin && flags.passwordFile) {
    throw new AicoError('USAGE', 'Use either --password-stdin or --password-file, not both.');
  }
  if (flags.passwordStdin) return readStdin;
  if (flags.passwordFile) {
    const file = flags.passwordFile;
    return async () => {
      try {
        return stripNewline(await fs.readFile(file));
      } catch (error) {
        throw new AicoError('USAGE', `Cannot read the password file ${file}: ${(error as Error).message}`);
      }
    };
  }
  const env = process.env.AICO_BACKUP_PASSWORD;
  if (env) return async () => Buffer.from(env);
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  return async () => {
    const first = await prompt('Backup password: ');
    if (!confirm) return first;
    const second = await prompt('Repeat password: ');
    const same = first.equals(second);
    second.fill(0);
    if (!same) {
      first.fill(0);
      throw new AicoError('USAGE', 'The two passwords differ; nothing was written.');
    }
    return first;
  };
}

/** For commands that read an archive: the password is asked only if the archive turns out to be encrypted. */
export function readPassword(flags: PasswordFlags): () => Promise<Buffer> {
  const provider = passwordProvider(flags, false);
  return async () => {
    if (!provider) {
      throw new AicoError('PASSWORD_REQUIRED', 'This backup is encrypted and no password was given.', {
        hint: 'Use --password-file FILE, --password-stdin or $AICO_BACKUP_PASSWORD, or run on a terminal to be asked.',
      });
    }
    return provider();
  };
}
