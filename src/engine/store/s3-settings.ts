/**
 * Where the S3 API is and how to reach it: the `backup.s3` section of
 * core.yaml, overridden by the standard AWS environment variables (as every
 * AWS tool does). Credentials are not settings: they come from the
 * environment, an AWS profile or the keyring (s3-credentials.ts).
 */
export interface S3Settings {
  /** e.g. https://s3.eu-central-003.backblazeb2.com; none: AWS itself. */
  endpoint?: string;
  region?: string;
  /** Bucket in the path (https://host/bucket/key), which most S3-compatible servers need; AWS uses the host name. */
  path_style?: boolean;
  /** Tries per request, the first included (network errors, 5xx, throttling), with exponential backoff. */
  max_attempts?: number;
  /** An AWS profile in ~/.aws/config and ~/.aws/credentials. */
  profile?: string;
  /** Multipart upload part size in MiB (S3's least is 5): what one retry resends, and what a resumed upload has at most lost. */
  part_size_mib?: number;
}

let configured: () => Promise<S3Settings | undefined> = async () => undefined;

/**
 * How the `backup.s3` section is found: set by the CLI and the TUI to read
 * the home's core.yaml, which is then read only by a command that reaches a
 * bucket.
 */
export function configureS3(settings: S3Settings | (() => Promise<S3Settings | undefined>) | undefined): void {
  configured = typeof settings === 'function' ? settings : async () => settings;
}

export async function configuredS3(): Promise<S3Settings> {
  return { ...((await configured()) ?? {}) };
}

export interface ResolvedS3Settings {
  endpoint: string | undefined;
  region: string;
  pathStyle: boolean;
  maxAttempts: number;
  profile: string | undefined;
  partBytes: number;
}

export function s3Settings(env: NodeJS.ProcessEnv = process.env, configured: S3Settings = {}): ResolvedS3Settings {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || configured.endpoint;
  const pathStyleEnv = env.AICO_S3_PATH_STYLE;
  return {
    endpoint: endpoint?.replace(/\/+$/, ''),
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || configured.region || 'us-east-1',
    // Another endpoint than AWS's: path style unless told otherwise, since few S3-compatible servers have per-bucket host names.
    pathStyle: pathStyleEnv ? pathStyleEnv === 'true' || pathStyleEnv === '1' : (configured.path_style ?? Boolean(endpoint)),
    maxAttempts: Number(env.AICO_S3_MAX_ATTEMPTS) || configured.max_attempts || 5,
    profile: env.AWS_PROFILE || configured.profile,
    partBytes: Math.max(5, Math.min(5120, Number(env.AICO_S3_PART_MIB) || configured.part_size_mib || 16)) * (1 << 20),
  };
}

/** What errors and `remote` commands name as the endpoint. */
export const endpointName = (s: ResolvedS3Settings): string => s.endpoint ?? `AWS S3 (${s.region})`;

/** The keyring account holding credentials for an endpoint ("aico backup remote login"). */
export const credentialAccount = (s: ResolvedS3Settings): string => `s3:${s.endpoint ? new URL(s.endpoint).host : `aws`}`;
