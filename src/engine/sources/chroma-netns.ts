import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * A private network namespace for the Chroma validation server, which has no
 * authentication: inside one, its 127.0.0.1 is a loopback of its own that no
 * process outside can reach, whoever runs it. An unprivileged user makes one
 * inside a user namespace of its own (`unshare --user --map-root-user --net`);
 * its loopback starts down and only `ip` brings it up.
 */
export type PrivateNetwork =
  | { ok: true; unshare: string; ip: string }
  /** Why there is none, in words for a warning. */
  | { ok: false; reason: string };

const PROBE_MS = 10_000;
// ip lives in sbin, which is often not on an unprivileged user's PATH.
const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

function findTool(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((d) => path.isAbsolute(d)), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Makes a namespace the way the check will (which also brings its loopback up), and says whether that worked. */
function probe(unshare: string, ip: string): Promise<PrivateNetwork> {
  return new Promise((resolve) => {
    const child = spawn(unshare, ['--user', '--map-root-user', '--net', '--', ip, 'link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-1000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_MS);
    const done = (why: string | null) => {
      clearTimeout(timer);
      resolve(why === null ? { ok: true, unshare, ip } : { ok: false, reason: why });
    };
    child.once('error', (e) => done(`${unshare} could not be run: ${e.message}`));
    child.once('close', (code, signal) => {
      if (code === 0) return done(null);
      const said = stderr.trim().split('\n').pop();
      done(`this system does not let a user make one${said ? ` (${said})` : ` (${code ?? signal})`}`);
    });
  });
}

let known: Promise<PrivateNetwork> | undefined;

/** Whether private network namespaces can be made here; found out once per process. */
export function privateNetwork(): Promise<PrivateNetwork> {
  known ??= (async (): Promise<PrivateNetwork> => {
    if (process.platform !== 'linux') return { ok: false, reason: 'private network namespaces exist only on Linux' };
    const unshare = findTool('unshare');
    if (!unshare) return { ok: false, reason: 'unshare (util-linux) is not installed' };
    const ip = findTool('ip');
    if (!ip) return { ok: false, reason: 'ip (iproute2) is not installed' };
    return probe(unshare, ip);
  })();
  return known;
}
