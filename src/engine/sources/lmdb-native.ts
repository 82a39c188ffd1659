import { AicoError } from '../errors.js';

/**
 * AICO writes its working memory with Python's lmdb, i.e. an LMDB 0.9
 * release, whose files are in LMDB's data format 1. The lmdb package's
 * prebuilt module is LMDB's development branch (reports 0.9.90), data format
 * 2: it crashes (SIGSEGV) on a format-1 env and can make a writer in another
 * process lose a commit when it opens the env (it lacks ITS#9496). So LMDB is
 * opened only through a module built from source with LMDB 0.9
 * (scripts/build-lmdb.mjs, run by `npm install`); any other is refused
 * before it opens a file.
 */
export interface LmdbVersion {
  versionString: string;
  major: number;
  minor: number;
  patch: number;
}

/** LMDB 0.9 releases (patch below 90) write data format 1; 0.9.90 and later are the development branch. */
export const isDataFormatV1 = (v: LmdbVersion | undefined): boolean => !!v && v.major === 0 && v.minor === 9 && v.patch < 90;

export const LMDB_BUILD_HINT =
  'Build it with LMDB 0.9, the LMDB AICO writes with: `npm run build:lmdb` in the aico-backup directory (needs the Debian packages build-essential and python3; see the README).';

/** The lmdb module, once its native module is known to be LMDB 0.9 (data format 1); else DATABASE_INVALID with how to build it. */
export async function loadLmdb(): Promise<typeof import('lmdb')> {
  let mod: typeof import('lmdb');
  try {
    mod = await import('lmdb');
  } catch (error) {
    throw new AicoError('DATABASE_INVALID', `LMDB's native module does not load: ${(error as Error).message.split('\n')[0]}`, { hint: LMDB_BUILD_HINT, cause: error });
  }
  const version = (mod as unknown as { version?: LmdbVersion }).version;
  if (!isDataFormatV1(version)) {
    throw new AicoError(
      'DATABASE_INVALID',
      `The lmdb module loaded here is ${version?.versionString ?? 'of unknown version'}, LMDB's development branch with data format 2: ` +
        "it cannot read AICO's LMDB working memory (LMDB 0.9, data format 1; opening it would crash) and may make a running AICO lose a write. Nothing was opened.",
      { hint: LMDB_BUILD_HINT },
    );
  }
  return mod;
}
