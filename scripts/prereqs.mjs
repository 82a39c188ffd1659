// What the test suite needs from the system, checked before anything runs so a
// new machine fails in a second with the one command that fixes it, instead of
// three keyring suites failing after three minutes. As root without a terminal
// (CI, containers) the packages are installed instead.
import { spawnSync } from 'node:child_process';
import { buildLmdb, isDataV1, loadedLmdbVersion } from './build-lmdb.mjs';

export const DEBIAN_PACKAGES = ['tar', 'gzip', 'zstd', 'lz4', 'dbus', 'gnome-keyring', 'python3-keyring', 'python3-secretstorage', 'tmux', 'util-linux', 'iproute2', 'build-essential', 'python3', 'python3-lmdb'];

const NEEDS = [
  { cmd: 'tar', pkg: 'tar' },
  { cmd: 'gzip', pkg: 'gzip' },
  { cmd: 'zstd', pkg: 'zstd' },
  { cmd: 'lz4', pkg: 'lz4' },
  { cmd: 'dbus-run-session', pkg: 'dbus' },
  { cmd: 'gnome-keyring-daemon', pkg: 'gnome-keyring' },
  { cmd: 'tmux', pkg: 'tmux' },
  { cmd: 'script', pkg: 'util-linux' },
  // The Chroma validation server runs in a private network namespace: unshare makes it, ip brings its loopback up.
  { cmd: 'unshare', pkg: 'util-linux' },
  { cmd: 'ip', pkg: 'iproute2' },
  { cmd: 'python3', pkg: 'python3' },
  // lmdb-js is built from source with LMDB 0.9 (scripts/build-lmdb.mjs): node-gyp runs make, cc and c++.
  { cmd: 'make', pkg: 'build-essential' },
  { cmd: 'cc', pkg: 'build-essential' },
  { cmd: 'c++', pkg: 'build-essential' },
];

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
// AICO stores its master key with Python's keyring; the interop test uses the system python3's.
const hasPythonKeyring = () => spawnSync('/usr/bin/python3', ['-c', 'import keyring, secretstorage'], { stdio: 'ignore' }).status === 0;
// AICO writes its LMDB working memory with Python's lmdb; the interop tests write and read it with the system python3's.
const hasPythonLmdb = () => spawnSync('/usr/bin/python3', ['-c', 'import lmdb'], { stdio: 'ignore' }).status === 0;

export function missingPackages() {
  const missing = NEEDS.filter((n) => !has(n.cmd)).map((n) => n.pkg);
  if (!hasPythonKeyring()) missing.push('python3-keyring', 'python3-secretstorage');
  if (!hasPythonLmdb()) missing.push('python3-lmdb');
  return [...new Set(missing)];
}

/** lmdb-js's native module built with LMDB 0.9 (AICO's data format), built now if it is not. */
function ensureLmdbBuild() {
  if (isDataV1(loadedLmdbVersion())) return;
  try {
    buildLmdb();
  } catch (error) {
    console.error(`The tests need lmdb built from source with LMDB 0.9: ${error.message}.\nBuild it with:\n\n  npm run build:lmdb\n`);
    process.exit(2);
  }
}

export function ensurePrereqs() {
  let missing = missingPackages();
  if (missing.length === 0) return ensureLmdbBuild();
  const line = `apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`;
  const root = process.getuid?.() === 0;
  if (root && !process.stdin.isTTY && has('apt-get')) {
    console.error(`Installing what the tests need: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...DEBIAN_PACKAGES], { stdio: 'inherit', env });
    missing = missingPackages();
    if (missing.length === 0) return ensureLmdbBuild();
  }
  console.error(`The tests need these Debian packages, which are missing: ${missing.join(', ')}.\nInstall them with:\n\n  sudo ${line}\n`);
  process.exit(2);
}

if (import.meta.url === `file://${process.argv[1]}`) ensurePrereqs();
