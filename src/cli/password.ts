import { AicoError, givenPassword, passwordRequired, stripNewline, type PasswordPurpose, type PasswordSource } from '../engine/index.js';

export type { PasswordSource };

export interface PasswordFlags {
  passwordStdin?: boolean;
  passwordFile?: string;
}

export async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return stripNewline(Buffer.concat(parts));
}

export async function prompt(message: string): Promise<Buffer> {
  try {
    return Buffer.from(String(await (await import('read')).read({ prompt: message, silent: true, output: process.stderr })));
  } catch {
    throw new AicoError('CANCELLED', 'Password entry cancelled.');
  }
}

/** Filled in once a provider has produced a password, for the --json output. */
export interface PasswordUse {
  source: PasswordSource | null;
}

/**
 * Where the backup password comes from, in order: --password-stdin (refused on a terminal),
 * then the sources the TUI shares (--password-file, $AICO_BACKUP_PASSWORD, the password
 * stored in the keyring with `aico backup password set`, the last only when `useKeyring`),
 * then a no-echo prompt on a terminal (asked twice when creating). Never from argv.
 * Returns undefined when there is no source, so the engine can say what to do instead
 * of hanging; with `useKeyring` that is known only when the password is asked for.
 */
export function passwordProvider(
  flags: PasswordFlags,
  confirm: boolean,
  opts: { purpose: PasswordPurpose; useKeyring?: boolean; use?: PasswordUse },
): (() => Promise<Buffer>) | undefined {
  const use = opts.use ?? { source: null };
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
    return async () => {
      const pw = await readStdin();
      use.source = 'stdin';
      return pw;
    };
  }
  const tty = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  if (!flags.passwordFile && !process.env.AICO_BACKUP_PASSWORD && !opts.useKeyring && !tty) return undefined;
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
  return async () => {
    const given = await givenPassword({ file: flags.passwordFile, stored: opts.useKeyring });
    if (given) {
      use.source = given.source;
      return given.password;
    }
    if (!tty) throw passwordRequired(opts.purpose);
    const pw = await ask();
    use.source = 'prompt';
    return pw;
  };
}

/** A provider, or at once the error that says how to give a password. */
export function requiredPassword(flags: PasswordFlags, confirm: boolean, purpose: PasswordPurpose): () => Promise<Buffer> {
  const provider = passwordProvider(flags, confirm, { purpose });
  if (!provider) throw passwordRequired(purpose);
  return provider;
}

/** For commands that read an archive: the password is asked only if the archive turns out to be encrypted. */
export function readPassword(flags: PasswordFlags, use?: PasswordUse): () => Promise<Buffer> {
  return passwordProvider(flags, false, { purpose: 'read', useKeyring: true, ...(use ? { use } : {}) })!;
}

/**
 * The password of the gocryptfs filesystem: from --fs-password-file, else asked
 * on a terminal (twice when it is chosen). Never the backup password's sources:
 * the two are different secrets.
 */
export function fsPasswordProvider(file: string | undefined, confirm: boolean): () => Promise<Buffer> {
  return async () => {
    if (file) {
      const pw = (await givenPassword({ file }))!.password;
      if (pw.length === 0) throw new AicoError('PASSWORD_REQUIRED', `The password file ${file} is empty.`);
      return pw;
    }
    if (!(process.stdin.isTTY && process.stderr.isTTY)) {
      throw new AicoError('PASSWORD_REQUIRED', 'The encrypted filesystem needs a password, and there is no terminal to ask for it.', { hint: 'Give it in a file only you can read: --fs-password-file FILE.' });
    }
    const first = await prompt('Password for the encrypted AICO home: ');
    if (!confirm) return first;
    const second = await prompt('Repeat it: ');
    const same = first.equals(second);
    second.fill(0);
    if (!same || first.length === 0) throw new AicoError('USAGE', first.length === 0 ? 'The password is empty.' : 'The two passwords differ; nothing was changed.');
    return first;
  };
}
