import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import path from 'node:path';
import { connect } from './s3-client.js';

/**
 * Where a backup for a bucket is written before it is uploaded, and stays
 * until the upload is confirmed: `${XDG_CACHE_HOME:-~/.cache}/aico-backup/outgoing/<bucket>-<hash>`,
 * one directory per endpoint and location, so a pending upload is resumed
 * by the next run to the same place and by no other.
 */
export async function spoolDir(location: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || homedir(), '.cache');
  const settings = (await connect(env)).settings;
  const id = createHash('sha256').update(`${settings.endpoint ?? 'aws'}\n${location}`).digest('hex').slice(0, 12);
  const bucket = /^s3:\/\/([^/]+)/.exec(location)?.[1] ?? 'bucket';
  return path.join(base, 'aico-backup', 'outgoing', `${bucket}-${id}`);
}
