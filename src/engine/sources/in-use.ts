import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface HoldingProcess {
  pid: number;
  command: string;
  /** One of the files it holds open. */
  file: string;
}

/**
 * Processes (other than this one) holding a file under `dir` open, found
 * through /proc/<pid>/fd on Linux. Elsewhere, or where /proc cannot be read,
 * returns null: the caller falls back to lock or pid files.
 */
export async function processesHolding(dir: string): Promise<HoldingProcess[] | null> {
  if (process.platform !== 'linux') return null;
  const root = path.resolve(dir) + path.sep;
  let pids: string[];
  try {
    pids = (await fs.readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return null;
  }
  const found: HoldingProcess[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      let fds: string[];
      try {
        fds = await fs.readdir(`/proc/${pid}/fd`);
      } catch {
        return; // gone, or not ours to look at
      }
      for (const fd of fds) {
        const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        if (target.startsWith(root)) {
          const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          found.push({ pid: Number(pid), command: cmdline.split('\0').filter(Boolean).join(' ').slice(0, 200) || `pid ${pid}`, file: target });
          return;
        }
      }
    }),
  );
  return found.sort((a, b) => a.pid - b.pid);
}
