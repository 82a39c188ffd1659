import type { S3Client } from '@aws-sdk/client-s3';
import { resolveCredentials } from './s3-credentials.js';
import { configuredS3, endpointName, s3Settings, type ResolvedS3Settings } from './s3-settings.js';

export type S3Module = typeof import('@aws-sdk/client-s3');

export interface S3Connection {
  s3: S3Module;
  client: S3Client;
  settings: ResolvedS3Settings;
  endpoint: string;
}

const connections = new Map<string, Promise<S3Connection>>();

/**
 * One client per endpoint and process. The SDK is loaded on the first
 * remote operation only: local commands do not pay for its import.
 */
export async function connect(env: NodeJS.ProcessEnv = process.env): Promise<S3Connection> {
  const settings = s3Settings(env, await configuredS3());
  const key = JSON.stringify(settings);
  let c = connections.get(key);
  if (!c) {
    c = open(settings, env);
    connections.set(key, c);
    c.catch(() => connections.delete(key));
  }
  return c;
}

async function open(settings: ResolvedS3Settings, env: NodeJS.ProcessEnv): Promise<S3Connection> {
  // The SDK warns on stderr that releases after January 2027 need Node 22; ours is pinned by the lockfile, and the
  // warning would be in every command's output (and in --json's stderr) for nothing a user can do.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const s3 = await import('@aws-sdk/client-s3');
  const creds = await resolveCredentials(settings, env);
  const client = new s3.S3Client({
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    region: settings.region,
    forcePathStyle: settings.pathStyle,
    ...(creds.credentials ? { credentials: creds.credentials } : {}),
    ...(settings.profile && creds.source === 'profile' ? { profile: settings.profile } : {}),
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
    // Since 3.729 the SDK adds CRC32 checksums to every request, which several S3-compatible servers reject.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A dead connection fails (and is retried) instead of hanging; a slow one is not cut off while it moves.
    requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
  });
  return { s3, client, settings, endpoint: endpointName(settings) };
}

/** Tests and the end of a command: close the sockets so the process can exit. */
export async function closeConnections(): Promise<void> {
  const all = [...connections.values()];
  connections.clear();
  for (const c of all) (await c.catch(() => null))?.client.destroy();
}
