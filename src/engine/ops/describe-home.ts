import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SOURCES } from '../sources/catalog.js';

export interface HomeSource {
  /** Catalog name: libsql, chromadb, working, config, models, cache, temp. */
  name: string;
  kind: 'database' | 'config' | 'extra';
  present: boolean;
  bytes: number;
  /** In the default include list (extras are not). */
  defaultIncluded: boolean;
}

async function du(p: string): Promise<number> {
  const st = await fs.lstat(p).catch(() => null);
  if (!st) return 0;
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  let sum = 0;
  for (const name of await fs.readdir(p).catch(() => [] as string[])) sum += await du(path.join(p, name));
  return sum;
}

/** What each source of a home holds, for choosing what to back up (reads only sizes). */
export async function describeHome(opts: { home: string }): Promise<HomeSource[]> {
  return Promise.all(
    SOURCES.map(async (s) => {
      const bytes = (await Promise.all(s.homePaths.map((p) => du(path.join(opts.home, p))))).reduce((a, b) => a + b, 0);
      const present = (await Promise.all(s.homePaths.map((p) => fs.lstat(path.join(opts.home, p)).then(() => true, () => false)))).some(Boolean);
      return { name: s.name, kind: s.kind, present, bytes, defaultIncluded: s.kind !== 'extra' };
    }),
  );
}
