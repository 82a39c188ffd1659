import { promises as fs } from 'node:fs';

export interface ReadingProcess {
  pid: number;
  command: string;
}

/**
 * Which other processes hold each of these files open, from /proc/<pid>/fd
 * (Linux). On Linux a reader keeps reading a deleted file to its end, so this
 * is news for the user, not a reason to refuse. Returns null where /proc
 * cannot be read. Paths are compared as the kernel reports them: real paths.
 */
export async function processesReading(files: string[]): Promise<Map<string, ReadingProcess[]> | null> {
  if (process.platform !== 'linux') return null;
  let pids: string[];
  try {
    pids = (await fs.readdir('/proc')).filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
  } catch {
    return null;
  }
  const byReal = new Map<string, string>();
  for (const file of files) byReal.set(await fs.realpath(file).catch(() => file), file);
  const found = new Map<string, ReadingProcess[]>(files.map((f) => [f, []]));
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      const held = new Set<string>();
      for (const fd of fds) {
        const file = byReal.get(await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
        if (file) held.add(file);
      }
      if (held.size === 0) return;
      const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      const command = cmdline.split('\0').filter(Boolean).join(' ').slice(0, 200) || `pid ${pid}`;
      for (const file of held) found.get(file)!.push({ pid: Number(pid), command });
    }),
  );
  for (const list of found.values()) list.sort((a, b) => a.pid - b.pid);
  return found;
}
