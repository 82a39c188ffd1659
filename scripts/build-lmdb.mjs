// Builds the lmdb package's native module from source with LMDB 0.9 (data format 1), the LMDB
// AICO's working memory is written with (Python's lmdb). The module lmdb-js ships prebuilt is
// LMDB's development branch (0.9.90, data format 2): it crashes (SIGSEGV) on an env written by
// LMDB 0.9, and makes a concurrent writer lose a commit when it opens the env (ITS#9496).
// lmdb-js carries LMDB 0.9.29 as dependencies/lmdb-data-v1 and builds it with LMDB_DATA_V1=true
// (its README: --build-from-source --use_data_v1=true); the result goes to
// node_modules/lmdb/build/Release/lmdb.node, which lmdb-js loads before its prebuilt packages.
//
// Run by `npm install`/`npm ci` (postinstall) and by scripts/prereqs.mjs; `--force` rebuilds.
// Needs a C/C++ toolchain, make and python3 (Debian: build-essential python3) and the headers
// of the running Node (include/node next to its binary); nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_HINT = 'npm run build:lmdb';

/** The lmdb package's directory (its package.json is not exported, so it is found from its main file). */
export function lmdbDir() {
  let dir = path.dirname(createRequire(path.join(ROOT, 'package.json')).resolve('lmdb'));
  while (!existsSync(path.join(dir, 'package.json')) || JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== 'lmdb') {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('the lmdb package is not installed');
    dir = up;
  }
  return dir;
}

/** The LMDB version of the native module `import('lmdb')` loads here, read in a child (a bad module may crash). */
export function loadedLmdbVersion() {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import('lmdb').then((m) => process.stdout.write(JSON.stringify(m.version)))"], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) return { error: (r.stderr || `exit ${r.status ?? r.signal}`).trim().split('\n').slice(-3).join(' ') };
  return JSON.parse(r.stdout);
}

/** LMDB 0.9 releases (patch < 90) write data format 1; 0.9.90 and later are the development branch (format 2). */
export const isDataV1 = (v) => v && v.major === 0 && v.minor === 9 && v.patch < 90;

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && path.join(path.dirname(realpathSync(process.env.npm_execpath)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.resolve(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].filter(Boolean);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`node-gyp (bundled with npm) not found; looked at ${candidates.join(', ')}`);
  return found;
}

/** The running Node's headers, so that node-gyp does not download them. */
function nodeDir() {
  const dir = path.resolve(process.execPath, '..', '..');
  if (!existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) {
    throw new Error(`the headers of this Node (${process.version}) are not in ${dir}/include/node (Debian's own nodejs package: apt-get install libnode-dev)`);
  }
  return dir;
}

export function buildLmdb({ force = false, quiet = false } = {}) {
  const log = quiet ? () => {} : (m) => console.error(`build-lmdb: ${m}`);
  const before = loadedLmdbVersion();
  if (!force && isDataV1(before)) {
    log(`lmdb already loads ${before.versionString} (data format 1)`);
    return before;
  }
  const dir = lmdbDir();
  const jobs = String(Math.min(2, availableParallelism()));
  log(`building ${dir} with LMDB 0.9 (LMDB_DATA_V1=true, -j ${jobs}); takes about half a minute`);
  const started = Date.now();
  const r = spawnSync(process.execPath, [nodeGyp(), 'rebuild', `--nodedir=${nodeDir()}`, '-j', jobs], {
    cwd: dir,
    stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'],
    env: { ...process.env, LMDB_DATA_V1: 'true', npm_config_build_from_source: 'true' },
  });
  if (r.status !== 0) throw new Error(`node-gyp failed (${r.status ?? r.signal}); it needs: apt-get install build-essential python3`);
  const after = loadedLmdbVersion();
  if (!isDataV1(after)) {
    throw new Error(`built, but import('lmdb') still loads ${after.versionString ?? after.error} (is PREBUILDS_ONLY or LMDB_PREBUILD set?)`);
  }
  log(`built ${after.versionString} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return after;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildLmdb({ force: process.argv.includes('--force') });
  } catch (error) {
    console.error(`build-lmdb: ${error.message}`);
    console.error('aico-backup reads and writes AICO\'s LMDB working memory only with LMDB 0.9 built from source (see README, Prerequisites).');
    // As an install step it warns only: everything but the LMDB working memory works without it,
    // and a backup or restore that needs LMDB says how to build it (src/engine/sources/lmdb-native.ts).
    if (process.env.npm_lifecycle_event === 'postinstall') {
      console.error(`build-lmdb: continuing without it; run \`${BUILD_HINT}\` once build-essential and python3 are installed.`);
    } else {
      process.exit(1);
    }
  }
}
