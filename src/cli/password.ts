import { promises as fs } from 'node:fs';
import { AicoError, storedBackupPassword } from '../engine/index.js';

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

export type PasswordSource = 'stdin' | 'file' | 'env' | 'keyring' | 'prompt';

/** Filled in once a provider has produced a password, for the --json output. */
export interface PasswordUse {
  source: PasswordSource | null;
}

/**
 * Where the backup password comes from, in order: --password-stdin (refused on a terminal),
 * --password-file, $AICO_BACKUP_PASSWORD, the password stored in the keyring
 * (`aico backup password set`; only when `useKeyring`), then a no-echo
 * prompt on a terminal (asked twice when creating). Never from argv.
 * Returns undefined when there is no source, so the engine can say what to
 * do instead of hanging.
 */
export function passwordProvider(
  flags: PasswordFlags,
  confirm: boolean,
  opts: { useKeyring?: boolean; use?: PasswordUse } = {},
): (() => Promise<Buffer>) | undefined {
  const use = opts.use ?? { source: null };
  const from = (source: PasswordSource, get: () => Promise<Buffer>) => async () => {
    const pw = await get();
    use.source = source;
    return pw;
  };
  if (flags.passwordStdin && flags.passwordFile) {
    throw new AicoError('USAGE', 'Use either --password-stdin or --password-file, not both.');
  }
  if (flags.passwordStdin) {
    // On a terminal it would wait, with no prompt and with echo, for a Ctrl-D few people know to press.
    if (process.stdin.isTTY) {
      throw new AicoError('USAGE', '--password-stdin reads the password from a pipe or a file, and standard input is a terminal.', {
        hint: 'Leave out --password-stdin to be asked for it (without echo), or pipe it in: printf %s "$PW" | aico ... --password-stdin.',
      });
    }
    return from('stdin', readStdin);
  }
  if (flags.passwordFile) {
    const file = flags.passwordFile;
    return from('file', async () => {
      try {
        return stripNewline(await fs.readFile(file));
      } catch (error) {
        throw new AicoError('USAGE', `Cannot read the password file ${file}: ${(error as Error).message}`);
      }
    });
  }
  const env = process.env.AICO_BACKUP_PASSWORD;
  if (env) return from('env', async () => Buffer.from(env));
  const tty = process.stdin.isTTY && process.stderr.isTTY;
  const ask = async () => {
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
  if (!opts.useKeyring) return tty ? from('prompt', ask) : undefined;
  return async () => {
    const stored = await storedBackupPassword();
    if (stored) {
      use.source = 'keyring';
      return stored;
    }
    if (!tty) {
      throw new AicoError('PASSWORD_REQUIRED', confirm ? 'An encrypted backup needs a password and none was given.' : 'This backup is encrypted and no password was given.', {
        hint: `Use --password-file FILE, --password-stdin or $AICO_BACKUP_PASSWORD, store one with "aico backup password set", or run on a terminal to be asked${confirm ? ', or pass --no-encrypt' : ''}.`,
      });
    }
    return from('prompt', ask)();
  };
}

/** For commands that read an archive: the password is asked only if the archive turns out to be encrypted. */
export function readPassword(flags: PasswordFlags, use?: PasswordUse): () => Promise<Buffer> {
  const provider = passwordProvider(flags, false, { useKeyring: true, use });
  return async () => {
    if (!provider) {
      throw new AicoError('PASSWORD_REQUIRED', 'This backup is encrypted and no password was given.', {
        hint: 'Use --password-file FILE, --password-stdin or $AICO_BACKUP_PASSWORD, or run on a terminal to be asked.',
      });
    }
    return provider();
  };
}
