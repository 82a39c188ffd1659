// What the bench runs on, built once and kept in the cache directory (default
// .bench/ in the checkout): seeding a 1000 MiB home takes minutes, so a home
// is keyed by kind, size and seed and reused while present.
//   home-<MiB>mib-seed<N>/        a sample AICO home (`aico demo seed`)
//   home-<MiB>mib-seed<N>.json    what the seeder said (its sample master key), when, how long
//   files-<MiB>mib-seed<N>/       the plain-file tree of `demo seed --files`
//   list-500/                     500 tiny encrypted backups for timing `aico backup list`
// Anything is built as NAME.partial-<pid> and renamed when complete, so an
// interrupted build is never reused (and is removed by the next run once its pid is gone).
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandFailed, timed } from './proc.mjs';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

async function removeStalePartials(cacheDir, name) {
  for (const entry of await fs.readdir(cacheDir).catch(() => [])) {
    const m = entry.startsWith(`${name}.partial-`) && /\.partial-(\d+)$/.exec(entry);
    if (m && !alive(Number(m[1]))) await fs.rm(path.join(cacheDir, entry), { recursive: true, force: true });
  }
}

export async function treeStats(dir) {
  let bytes = 0;
  let files = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += (await fs.stat(path.join(entry.parentPath ?? entry.path, entry.name))).size;
    files++;
  }
  return { bytes, files };
}

/**
 * The cached home for (kind, size, seed), seeded with the CLI when missing.
 * Resolves to { dir, meta }; meta.master_key is the sample's key (not a secret:
 * it is derived from the seed), null for the plain-file tree.
 */
/** LMDB's data format in a seeded home: 1, LMDB 0.9's, which AICO's Python lmdb writes. */
const LMDB_FORMAT = 1;

export async function cachedHome({ cacheDir, aico, sizeMb, seed, files, toolVersion, log }) {
  const name = `${files ? 'files' : 'home'}-${sizeMb}mib-seed${seed}`;
  const dir = path.join(cacheDir, name);
  const metaFile = `${dir}.json`;
  await fs.mkdir(cacheDir, { recursive: true });
  await removeStalePartials(cacheDir, name);
  if (existsSync(dir) && existsSync(metaFile)) {
    const meta = JSON.parse(await fs.readFile(metaFile, 'utf8'));
    if (meta.kind === 'files' || meta.lmdb_format === LMDB_FORMAT) {
      if (meta.tool_version !== toolVersion) log(`note: ${dir} was seeded by aico-backup ${meta.tool_version} (this is ${toolVersion}); delete it to seed again`);
      return { dir, meta, reused: true };
    }
    // Seeded before the engine used LMDB 0.9: its working memory is in LMDB's development format.
    log(`${dir} holds LMDB in a format AICO does not write (seeded before LMDB 0.9); seeding again`);
  }
  await fs.rm(dir, { recursive: true, force: true });
  const partial = `${dir}.partial-${process.pid}`;
  log(`seeding ${files ? 'a plain-file tree' : 'an AICO home'} of ${sizeMb} MiB (seed ${seed}) in ${dir}; kept for later runs`);
  const argv = ['node', aico, '--home', partial, '--json', 'demo', 'seed', '--size', String(sizeMb), '--seed', String(seed), ...(files ? ['--files'] : [])];
  const r = await timed(argv, { tmp: cacheDir });
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  await fs.rename(partial, dir);
  const meta = { tool_version: toolVersion, kind: files ? 'files' : 'home', ...(files ? {} : { lmdb_format: LMDB_FORMAT }), size_mib: sizeMb, seed, seeded_at: new Date().toISOString(), seed_s: r.wall, bytes: out.bytes, files: out.files, databases: out.databases ?? null, master_key: out.master_key ?? null };
  await fs.writeFile(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  return { dir, meta, reused: false };
}

/**
 * A directory of `count` real encrypted backups of a tiny home, made once in
 * this process with the engine's create(). `backup list` reads only an
 * encrypted archive's public header, so what is inside does not change its
 * work: the backups hold config/ only and use 1,000 KDF iterations instead of
 * 600,000 (the header records the count; list never derives a key), which
 * makes 500 of them in a minute or two instead of a quarter of an hour.
 */
export async function cachedListDir({ cacheDir, engine, count, seed, isInterrupted, log }) {
  const name = `list-${count}`;
  const dir = path.join(cacheDir, name);
  await removeStalePartials(cacheDir, name);
  if (existsSync(dir)) return { dir, reused: true };
  const partial = `${dir}.partial-${process.pid}`;
  const home = path.join(partial, 'home');
  const out = path.join(partial, 'backups');
  await fs.mkdir(out, { recursive: true });
  log(`making ${count} tiny backups for \`backup list\` in ${dir} (once; kept for later runs)`);
  const sample = await engine.seedSample({ home, sizeMb: 1, seed, chroma: false });
  const env = { ...process.env, AICO_MASTER_KEY: sample.masterKey };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  // One a day back from a fixed date: distinct names, like a long-kept daily schedule.
  const first = Date.UTC(2024, 0, 1, 3, 0, 0);
  for (let i = 0; i < count; i++) {
    if (isInterrupted()) throw new CommandFailed('interrupted');
    await engine.create({ home, outputDir: out, encrypt: true, password: async () => Buffer.from('bench-password'), compression: 'zstd', compressionLevel: 3, include: ['config'], exclude: [], env, kdfIterations: 1000, now: new Date(first + i * 86_400_000) });
    if ((i + 1) % 100 === 0) log(`  ${i + 1}/${count}`);
  }
  await fs.rename(out, dir);
  await fs.rm(partial, { recursive: true, force: true });
  return { dir, reused: false };
}

function dfOf(dir) {
  try {
    const line = execFileSync('df', ['-PT', '-B1', dir], { encoding: 'utf8' }).trim().split('\n').pop();
    const [source, fstype, size, , avail] = line.split(/\s+/);
    return { source, fstype, size_bytes: Number(size), avail_bytes: Number(avail) };
  } catch {
    return null;
  }
}

/** The kernel's rotational flag for a block device (vda1 and nvme0n1p1 map to their disk). */
function rotational(source) {
  const base = path.basename(source ?? '');
  for (const dev of [base, base.replace(/p?\d+$/, '')]) {
    try {
      return readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim() === '1';
    } catch {
      // not a whole disk by this name
    }
  }
  return null;
}

export function hardware(dir) {
  const disk = dfOf(dir);
  if (disk) disk.rotational = rotational(disk.source);
  return {
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    ram_bytes: os.totalmem(),
    disk,
    loadavg: os.loadavg(),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
  };
}
