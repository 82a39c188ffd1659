import { AicoError, isAicoError } from '../errors.js';
import { forgetCredentials, resolveCredentials, storeCredentials, type CredentialSource } from './s3-credentials.js';
import { configuredS3, credentialAccount, endpointName, s3Settings } from './s3-settings.js';

export interface RemoteStatus {
  endpoint: string;
  region: string;
  path_style: boolean;
  /** Where the credentials of the next remote command come from; never the credentials themselves. */
  credentials: CredentialSource;
  keyring_account: string;
}

const resolved = async (env: NodeJS.ProcessEnv) => s3Settings(env, await configuredS3());

/** Stores an access key for the configured endpoint in the keyring ("aico backup remote login"). */
export async function remoteLogin(accessKeyId: string, secretAccessKey: string, env: NodeJS.ProcessEnv = process.env): Promise<RemoteStatus> {
  if (!/^\S+$/.test(accessKeyId) || !/^\S+$/.test(secretAccessKey)) {
    throw new AicoError('USAGE', 'An access key ID and a secret access key are needed, each one word without spaces.');
  }
  await storeCredentials(await resolved(env), { accessKeyId, secretAccessKey }).catch((error) => {
    // The keyring's own hint is about AICO's master key; for an access key the other sources are the way out.
    if (!isAicoError(error, 'KEYRING_UNAVAILABLE')) throw error;
    throw new AicoError('KEYRING_UNAVAILABLE', error.message, {
      hint: 'Without a keyring, give the key as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or in an AWS profile (~/.aws/credentials, AWS_PROFILE); or start a Secret Service in this session (gnome-keyring-daemon --unlock --components=secrets under dbus-run-session).',
      details: error.details,
      cause: error,
    });
  });
  return remoteStatus(env);
}

export async function remoteLogout(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return forgetCredentials(await resolved(env));
}

export async function remoteStatus(env: NodeJS.ProcessEnv = process.env): Promise<RemoteStatus> {
  const settings = await resolved(env);
  const { source } = await resolveCredentials(settings, env);
  return { endpoint: endpointName(settings), region: settings.region, path_style: settings.pathStyle, credentials: source, keyring_account: credentialAccount(settings) };
}
