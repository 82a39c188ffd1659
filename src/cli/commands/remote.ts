import { AicoError, formatBytes, remoteLogin, remoteLogout, remoteStatus, sync } from '../../engine/index.js';
import type { RunContext } from '../context.js';
import { prompt, readStdin } from '../password.js';

const describeStatus = (s: Awaited<ReturnType<typeof remoteStatus>>) =>
  [`Endpoint     ${s.endpoint} (region ${s.region}${s.path_style ? ', path-style' : ''})`, `Credentials  ${s.credentials}`, `Keyring      AICO / ${s.keyring_account}`].join('\n');

/**
 * The access key goes into the keyring, never through argv: on a terminal it
 * is asked for (without echo), else read from standard input as two lines,
 * the access key ID and the secret.
 */
export async function runRemoteLogin(ctx: RunContext): Promise<void> {
  await ctx.config();
  let id: string;
  let secret: string;
  if (process.stdin.isTTY) {
    id = (await prompt('Access key ID: ')).toString('utf8').trim();
    secret = (await prompt('Secret access key: ')).toString('utf8').trim();
  } else {
    const lines = (await readStdin()).toString('utf8').split(/\r?\n/).map((l) => l.trim());
    [id = '', secret = ''] = lines;
  }
  if (!id || !secret) throw new AicoError('USAGE', 'Give the access key ID and the secret access key, one per line on standard input (or type them on a terminal).');
  const status = await remoteLogin(id, secret);
  ctx.out.result({ stored: true, ...status }, () => `Stored the access key for ${status.endpoint} in the keyring.\n${describeStatus(status)}`);
}

export async function runRemoteLogout(ctx: RunContext): Promise<void> {
  await ctx.config();
  const removed = await remoteLogout();
  ctx.out.result({ removed }, () => (removed ? 'Removed the stored access key.' : 'No access key was stored for this endpoint.'));
}

export async function runRemoteStatus(ctx: RunContext): Promise<void> {
  await ctx.config();
  const status = await remoteStatus();
  ctx.out.result({ ...status }, () => describeStatus(status));
}

export async function runSync(ctx: RunContext, from: string, to: string, flags: { delete?: boolean; dryRun?: boolean }): Promise<void> {
  const result = await sync({ from, to, delete: flags.delete === true, dryRun: flags.dryRun === true }, { onEvent: (e) => ctx.out.event(e), signal: ctx.signal });
  ctx.out.result(
    { from: result.from, to: result.to, backups: result.backups, present: result.present, bytes: result.bytes, dry_run: flags.dryRun === true, duration_ms: result.durationMs },
    () => {
      const verb = { copied: 'Copied', 'would-copy': 'Would copy', skipped: 'Skipped (damaged)', deleted: 'Deleted', 'would-delete': 'Would delete' } as const;
      const lines = result.backups.map((b) => `${verb[b.action]} ${b.name} (${formatBytes(b.bytes)})${b.sha256 ? ', read back and compared' : ''}`);
      const skipped = result.backups.filter((b) => b.action === 'skipped').length;
      lines.push(`${result.to}: ${result.backups.filter((b) => b.action === 'copied').length} copied (${formatBytes(result.bytes)}), ${result.present} already there${skipped ? `, ${skipped} damaged not copied` : ''}.`);
      if (flags.dryRun) lines.push('Dry run: nothing was copied or deleted.');
      return lines.join('\n');
    },
  );
}
