import { isAicoError } from '../errors.js';
import { systemKeyring, type Keyring } from '../keys/keyring.js';
import { credentialAccount, type ResolvedS3Settings } from './s3-settings.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type CredentialSource = 'environment' | 'profile' | 'keyring' | 'aws-default-chain';

/**
 * Where the credentials for an endpoint come from, first found wins:
 * $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY, then a named AWS profile, then
 * the keyring ("aico backup remote login"), then the AWS SDK's own chain
 * (~/.aws/credentials' default profile, container and instance roles).
 * Never argv, and never written to output or logs.
 */
export async function resolveCredentials(
  settings: ResolvedS3Settings,
  env: NodeJS.ProcessEnv = process.env,
  keyring: Keyring = systemKeyring,
): Promise<{ source: CredentialSource; credentials?: S3Credentials }> {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    // Given to the client, not left to the SDK's chain, which reads process.env and not `env`.
    const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    return { source: 'environment', credentials: env.AWS_SESSION_TOKEN ? { ...credentials, sessionToken: env.AWS_SESSION_TOKEN } : credentials };
  }
  if (settings.profile) return { source: 'profile' };
  const stored = await readStored(settings, keyring);
  if (stored) return { source: 'keyring', credentials: stored };
  return { source: 'aws-default-chain' };
}

async function readStored(settings: ResolvedS3Settings, keyring: Keyring): Promise<S3Credentials | null> {
  try {
    const raw = await keyring.get(credentialAccount(settings));
    if (!raw) return null;
    const parsed = JSON.parse(raw.toString('utf8')) as Partial<S3Credentials>;
    return parsed.accessKeyId && parsed.secretAccessKey ? (parsed as S3Credentials) : null;
  } catch (error) {
    // No keyring in this session: the other sources still apply.
    if (isAicoError(error, 'KEYRING_UNAVAILABLE')) return null;
    throw error;
  }
}

export async function storeCredentials(settings: ResolvedS3Settings, credentials: S3Credentials, keyring: Keyring = systemKeyring): Promise<string> {
  const account = credentialAccount(settings);
  await keyring.set(account, Buffer.from(JSON.stringify(credentials)));
  return account;
}

export async function forgetCredentials(settings: ResolvedS3Settings, keyring: Keyring = systemKeyring): Promise<boolean> {
  return keyring.delete(credentialAccount(settings));
}
