import path from 'node:path';
import { expandTilde } from '../config/load.js';
import { AicoError } from '../errors.js';

/** A backup location is a local directory or an `s3://bucket/prefix` URL; an archive's location is that plus its name. */
export const isRemote = (location: string): boolean => /^s3:\/\//i.test(location);

export interface S3Location {
  bucket: string;
  /** '' or a key prefix ending in '/'. */
  prefix: string;
}

// S3's own rule (3-63 characters, lowercase, digits, dots, hyphens), plus the underscores some S3-compatible servers allow.
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

export function parseS3(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m || !BUCKET_RE.test(m[1]!)) {
    throw new AicoError('USAGE', `"${url}" is not an S3 location: write s3://BUCKET or s3://BUCKET/PREFIX.`, {
      hint: 'Bucket names are 3 to 63 lowercase letters, digits, dots and hyphens.',
    });
  }
  const prefix = m[2]!.replace(/\/+$/, '');
  if (prefix.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new AicoError('USAGE', `"${url}" has an empty, "." or ".." part in its prefix.`);
  }
  return { bucket: m[1]!, prefix: prefix ? `${prefix}/` : '' };
}

/** The URL of a bucket location, written one way (no trailing slash). */
export function s3Url(loc: S3Location, name = ''): string {
  return `s3://${loc.bucket}/${loc.prefix}${name}`.replace(/\/$/, '');
}

/** Where a backup named `name` in `dir` is. */
export function joinLocation(dir: string, name: string): string {
  return isRemote(dir) ? s3Url(parseS3(dir), name) : path.join(dir, name);
}

/** The directory (or bucket prefix) of an archive's location, and its name. */
export function splitLocation(location: string): { dir: string; name: string } {
  if (!isRemote(location)) return { dir: path.dirname(location), name: path.basename(location) };
  const loc = parseS3(location);
  const parts = loc.prefix.replace(/\/$/, '').split('/');
  const name = parts.pop() ?? '';
  return { dir: s3Url({ bucket: loc.bucket, prefix: parts.length && parts[0] ? `${parts.join('/')}/` : '' }), name };
}

/** The last part of a location: a file's base name, or the object's name in its prefix. */
export const nameOf = (location: string): string => splitLocation(location).name;

/** A backup or backup directory as the user gave it: an s3:// URL checked and written one way, a path with `~` expanded and made absolute. */
export function resolveLocation(given: string): string {
  return isRemote(given) ? s3Url(parseS3(given)) : path.resolve(expandTilde(given));
}
