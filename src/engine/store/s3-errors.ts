import { AicoError, cancelledError } from '../errors.js';

interface ServiceError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: unknown;
}

const AUTH = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'CredentialsProviderError', 'InvalidClientTokenId']);
const SKEW = new Set(['RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture']);
const NETWORK = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|socket hang up|TimeoutError|RequestTimeout/;

/**
 * One S3 failure as the user can act on it: a wrong credential, a missing
 * bucket, a clock skew and an unreachable endpoint each get their own code;
 * every message names the operation and the endpoint, never a credential.
 */
export function remoteError(error: unknown, op: string, endpoint: string, target: string): AicoError {
  if (error instanceof AicoError) return error;
  const e = (error ?? {}) as ServiceError;
  const name = e.name ?? e.Code ?? '';
  // A request stopped by the operation's signal (Ctrl-C), not a failure of the store.
  if (name === 'AbortError') return cancelledError();
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts;
  const where = `${op} ${target} at ${endpoint}`;
  const details = { operation: op, endpoint, target, s3_error: name || null, http_status: status ?? null };
  if (AUTH.has(name) || /Could not load credentials|Resolved credential object is not valid/i.test(e.message ?? '') || (status === 403 && !SKEW.has(name))) {
    return new AicoError('REMOTE_AUTH', `The object store refused the credentials (${name || `HTTP ${status}`}): ${where}.`, {
      hint: 'Store the access key with "aico backup remote login", or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); check the key may use this bucket.',
      details,
      cause: error,
    });
  }
  if (name === 'NoSuchBucket') {
    return new AicoError('REMOTE_NO_BUCKET', `No such bucket: ${where}.`, {
      hint: 'Create the bucket first, or check the name, the endpoint (backup.s3.endpoint, AWS_ENDPOINT_URL) and the region.',
      details,
      cause: error,
    });
  }
  if (SKEW.has(name)) {
    return new AicoError('REMOTE_CLOCK_SKEW', `The object store says this computer's clock is wrong (${name}): ${where}.`, {
      hint: 'Set the system time (e.g. timedatectl set-ntp true) and try again.',
      details,
      cause: error,
    });
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new AicoError('NOT_FOUND', `No backup at ${target} (${endpoint}).`, { details, cause: error });
  }
  const text = `${name} ${(e as { code?: string }).code ?? ''} ${e.message ?? ''}`;
  if (NETWORK.test(text) || (status !== undefined && status >= 500)) {
    return new AicoError('REMOTE_UNAVAILABLE', `The object store could not be reached${attempts ? ` (${attempts} tries)` : ''}: ${where}: ${e.message || name}.`, {
      hint: 'Check the network and the endpoint, and run the command again; an interrupted upload is resumed.',
      details,
      cause: error,
    });
  }
  return new AicoError('IO_ERROR', `The object store failed to ${where}: ${name ? `${name}: ` : ''}${e.message ?? String(error)}.`, { details, cause: error });
}
