import { AicoError } from '../errors.js';
import { runSiblingChild } from '../proc/sibling.js';

/** Where AICO keeps its secrets: the design's keyring.get_password("AICO", ...). */
export const KEYRING_SERVICE = 'AICO';
export const MASTER_KEY_ACCOUNT = 'master_key';
export const BACKUP_PASSWORD_ACCOUNT = 'backup_password';

const DEFAULT_TIMEOUT_MS = 10_000;

const WAY_OUT =
  'Set AICO_MASTER_KEY (and a password source such as --password-file) for headless use, ' +
  'or start a Secret Service in this session (e.g. gnome-keyring-daemon --unlock --components=secrets under dbus-run-session).';

/**
 * The one place that touches the platform keyring. Each call runs in a short
 * child process (keyring-child.ts) with a timeout, so a broken or missing
 * Secret Service gives a clear KEYRING_UNAVAILABLE instead of a raw native
 * error or a hang. Once the keyring has failed, later calls fail at once
 * with the same error, so a command reports the problem once.
 */
export class Keyring {
  private unavailable: AicoError | null = null;

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {}

  /** On Linux AICO's keys live in the Secret Service (as Python's keyring puts them); keyutils only if asked. */
  private get store(): 'secret-service' | 'keyutils' | undefined {
    if (this.platform !== 'linux') return undefined;
    return this.env.AICO_KEYRING_STORE === 'keyutils' ? 'keyutils' : 'secret-service';
  }

  async get(account: string): Promise<Buffer | null> {
    const reply = await this.call({ op: 'get', account });
    return typeof reply.value === 'string' ? Buffer.from(reply.value, 'base64') : null;
  }

  async set(account: string, value: Buffer): Promise<void> {
    await this.call({ op: 'set', account, value: value.toString('base64') });
  }

  async delete(account: string): Promise<boolean> {
    return (await this.call({ op: 'delete', account })).deleted === true;
  }

  private async call(req: { op: string; account: string; value?: string }): Promise<Record<string, unknown>> {
    if (this.unavailable) throw this.unavailable;
    if (this.store === 'secret-service' && !this.env.DBUS_SESSION_BUS_ADDRESS) {
      throw this.fail('no D-Bus session bus in this session (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service');
    }
    const timeoutMs = Number(this.env.AICO_KEYRING_TIMEOUT_MS) || DEFAULT_TIMEOUT_MS;
    const result = await runSiblingChild(import.meta.url, 'keyring-child', { ...req, service: KEYRING_SERVICE, store: this.store }, { env: this.env, timeoutMs });
    if ('timeout' in result) throw this.fail(`the keyring did not answer within ${timeoutMs / 1000} s`);
    if (!('reply' in result)) throw this.fail('the keyring helper process failed');
    if (result.reply.ok !== true) throw this.fail(explain(String(result.reply.message ?? ''), req.op));
    return result.reply;
  }

  private fail(reason: string): AicoError {
    this.unavailable = new AicoError('KEYRING_UNAVAILABLE', `The system keyring is not available: ${reason}.`, {
      hint: WAY_OUT,
      details: { reason },
    });
    return this.unavailable;
  }
}

/** Native messages are cryptic ("Platform failure: DBus error: ..."); say what they mean. */
function explain(message: string, op: string): string {
  if (/prompt was dismissed|locked/i.test(message)) return 'the keyring is locked and cannot be unlocked without a desktop prompt';
  if (/no result found/i.test(message) && op === 'set') return 'the Secret Service has no default keyring to store into';
  if (/org\.freedesktop\.secrets/i.test(message)) return 'no Secret Service is running on the session bus';
  if (/AccessDenied|access platform storage/i.test(message)) return 'access to the credential store was denied';
  if (/dbus|socket/i.test(message)) return 'the D-Bus session bus cannot be reached';
  return 'the credential store reported an error';
}

/** The keyring of this process's session. */
export const systemKeyring = new Keyring();
