#!/usr/bin/env node
// Speed and memory of aico-backup on a real AICO home (encrypted libSQL, a
// Chroma store, LMDB, config: the databases are the work), against
// `tar | zstd -3 -T1`, restic 0.14 and borg 1.2 on the same warm home.
//
//   npm run bench -- [--size MiB] [--runs N] [--seed N] [--files] [--flat] [--flat-size MiB]
//                    [--skip tar,restic,borg,stall,cli,incremental,s3] [--cache D] [--dir D] [--keep] [--json]
//   (or AICO_BENCH_SIZE / AICO_BENCH_RUNS / AICO_BENCH_CACHE / AICO_BENCH_DIR)
//
// Homes are seeded once and cached (see homes.mjs). Contenders run as child
// processes under /usr/bin/time, interleaved run by run, and we report medians.
// The incremental section (incremental.mjs) runs once, on a copy of the home it changes.
// A missed target never fails the bench; only a command that fails does (exit 1).
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cachedHome, cachedListDir, hardware, treeStats } from './homes.mjs';
import { s3Section } from './s3.mjs';
import { incrementalSection } from './incremental.mjs';
import { CommandFailed, interrupted, probe, q, sh, startHelper, timed } from './proc.mjs';

/**
 * Targets the bench checks. null: none given to the bench, the ratio is only
 * reported. ratio targets are minimums (other tool's time / ours, >1 is faster).
 */
// The issue "Speed on real AICO data". Ratios are their time over ours (at least this much).
const TARGETS = {
  create_vs_tar_zstd: 1.0, // create <= 1.0x the `tar | zstd -3 -T1` time (aim 0.75x: 1.33)
  create_vs_restic: 2.0, // create <= 0.5x restic backup
  restore_vs_restic: 1.0, // full restore with validation <= 1.0x restic restore
  verify_vs_restic_check: 1 / 0.6, // verify <= 0.6x restic check --read-data
  peak_rss_mib: 120, // create, verify and restore
  rss_flat_within: 0.1, // a 4x larger home may take at most 10 % more peak RSS
  writer_stall_ms: 50, // longest libSQL commit while create runs
  cli_s: 0.3, // `aico --help`, `aico backup list` of 500 backups
  // The issue "Incremental and differential backups", for `demo churn` and `demo churn --percent 1`.
  // Ratios are ours over the reference (at most this much).
  incr_vs_floor: 1.15, // incremental archive <= 1.15x the changed-block floor
  incr_vs_restic_added: 0.3, // incremental archive <= 0.3x what restic's repository grows by
  incr_time_vs_restic: 0.5, // incremental <= 0.5x restic's incremental backup of the same change
  incr_time_vs_full: 0.3, // incremental <= 0.3x our own full backup
  incr_peak_rss_mib: 150,
  chain_restore_vs_full: 1.2, // newest point of a 7-link chain <= 1.2x restoring a full of the same data
};
const SKIPPABLE = ['tar', 'restic', 'borg', 'stall', 'cli', 'incremental', 's3'];
const USAGE = `usage: bench.mjs [--size MiB>0] [--runs N>=1] [--seed N] [--files] [--flat] [--flat-size MiB] [--skip ${SKIPPABLE.join(',')}] [--cache D] [--dir D] [--keep] [--json]`;

let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      size: { type: 'string', default: process.env.AICO_BENCH_SIZE ?? '1000' },
      runs: { type: 'string', default: process.env.AICO_BENCH_RUNS ?? '3' },
      seed: { type: 'string', default: '42' },
      files: { type: 'boolean', default: false },
      flat: { type: 'boolean', default: false },
      'flat-size': { type: 'string' },
      skip: { type: 'string', default: '' },
      cache: { type: 'string', default: process.env.AICO_BENCH_CACHE },
      dir: { type: 'string', default: process.env.AICO_BENCH_DIR },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const sizeMb = Number(opt.size);
const runs = Number(opt.runs);
const seed = Number(opt.seed);
const flatMb = opt['flat-size'] !== undefined ? Number(opt['flat-size']) : opt.flat ? sizeMb / 4 : null;
const skip = new Set(opt.skip.split(',').filter(Boolean));
if (!(sizeMb > 0) || !Number.isInteger(runs) || runs < 1 || !Number.isSafeInteger(seed) || (flatMb !== null && !(flatMb > 0)) || [...skip].some((s) => !SKIPPABLE.includes(s))) {
  console.error(USAGE);
  process.exit(2);
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AICO = path.join(ROOT, 'bin', 'aico.js');
const ENGINE = path.join(ROOT, 'dist', 'engine', 'index.js');
if (!existsSync(ENGINE)) {
  console.error('dist/ is missing: run `npm run build` first (or use `npm run bench`).');
  process.exit(2);
}
const engine = await import(pathToFileURL(ENGINE).href);
const MiB = 1024 * 1024;
const log = (msg) => process.stderr.write(`${msg}\n`); // progress on stderr keeps --json stdout clean
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const gib = (b) => `${(b / 1024 ** 3).toFixed(1)} GiB`;

/** Left-aligned first column, the others right-aligned, two spaces apart (every table of the report). */
function printTable(head, body, indent = '') {
  const widths = head.map((_, c) => Math.max(...[head, ...body].map((line) => line[c].length)));
  const line = (cells) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ').trimEnd();
  for (const cells of [head, ...body]) console.log(indent + line(cells));
}

/** A Chroma collection's directory is a UUID: its first 8 digits tell them apart. */
const shortPath = (rel) => rel.replace(/^data\/memory\//, '').replace(/([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, '$1…');

/** The incremental section's report (incremental.mjs measures, targets come from TARGETS). */
function reportIncremental(inc, targets, verdict) {
  const what = (c) => `${c.label} (seed ${c.seed})`;
  const mb = (b) => (b === null || b === undefined ? '-' : f(b / MiB, 1));
  console.log('');
  console.log(`incremental backups (one run of each step, on a copy of the home; ${inc.changes.length} changes applied one after another, each followed by \`backup create --type incremental\`; ${f(inc.duration_s, 0)} s in all, of which ${f(inc.hashing_s, 0)} s hashing blocks in a worker between timed commands):`);
  console.log('  floor = 4 KiB blocks of the covered files whose SHA-256 differs from the state before the change at the same index, lie past the old end, or are in a new file, x 4096 B');
  console.log(`  archive = the incremental's file; stored = its stored_bytes (whole new files and changed blocks, uncompressed); restic+ = ${inc.restic_addition ?? 'restic not run'}`);
  console.log(`  /full t = incremental time over the full backup of the same home copy before the changes (${f(inc.full.wall_s)} s, ${mb(inc.full.archive_bytes)} MiB)`);
  const head = ['link  change', 'churn s', 'floor MiB', 'archive MiB', 'stored MiB', 'restic+ MiB', '/floor', '/restic+', 'incr s', 'restic s', '/restic t', '/full t', 'peak RSS MiB', 'tree RSS MiB'];
  const body = inc.changes.map((c) => [
    `${String(c.link).padStart(4)}  ${what(c)}`,
    f(c.churn.wall_s, 1),
    mb(c.floor.bytes),
    mb(c.incremental.archive_bytes),
    mb(c.incremental.stored_bytes),
    mb(c.restic?.added_bytes),
    f(c.ratios.archive_vs_floor),
    f(c.ratios.archive_vs_restic_added),
    f(c.incremental.wall_s),
    f(c.restic?.wall_s),
    f(c.ratios.time_vs_restic),
    f(c.ratios.time_vs_full),
    f(c.incremental.peak_rss_mib, 1),
    f(c.incremental.peak_tree_rss_mib, 1),
  ]);
  printTable(head, body, '  ');
  const x = (t) => (t.value === null ? '- (not measured)' : `${f(t.value)}x (target <= ${t.target}x)${verdict(t)}`);
  console.log('targets (ours / reference: <1 is smaller or faster than it):');
  for (const c of inc.changes.filter((c) => c.issue)) {
    const t = (name) => targets[`incr_${c.key}_${name}`];
    const rss = t('peak_rss_mib');
    console.log(`  ${what(c)}:`);
    console.log(`    archive vs changed-block floor          ${x(t('vs_floor'))}`);
    console.log(`    archive vs restic's addition            ${x(t('vs_restic_added'))}`);
    console.log(`    time vs restic's incremental backup     ${x(t('time_vs_restic'))}`);
    console.log(`    time vs our full backup                 ${x(t('time_vs_full'))}`);
    console.log(`    peak RSS (largest process)              ${f(rss.value, 0)} MiB (target <= ${rss.target})${verdict(rss)}, tree ${f(c.incremental.peak_tree_rss_mib, 0)} MiB`);
  }
  const ch = inc.chain;
  const tr = targets.chain_restore_vs_full;
  console.log(`  restore of the newest point of the ${ch.links}-link chain (${f(ch.restore.wall_s)} s) vs restore of a full backup of the same state (${f(ch.full_restore.wall_s)} s): ${x(tr)}`);
  console.log(`    peak RSS ${f(ch.restore.peak_rss_mib, 0)} MiB vs ${f(ch.full_restore.peak_rss_mib, 0)} MiB (tree ${f(ch.restore.peak_tree_rss_mib, 0)} vs ${f(ch.full_restore.peak_tree_rss_mib, 0)} MiB); the chain's ${ch.links} archives ${mb(ch.chain_bytes)} MiB, the full ${mb(ch.full.archive_bytes)} MiB`);
  console.log(`    restored trees identical byte for byte: ${ch.compared.files} files, ${mb(ch.compared.bytes)} MiB (not compared: ${ch.compared.ignored.join(', ')})`);

  // The blocks each change really touched, file by file.
  const files = [...new Set(inc.changes.flatMap((c) => Object.keys(c.floor.files)))];
  const cols = inc.changes.map((c) => `link ${c.link}`);
  console.log(`4 KiB blocks changed per file by each change (in place + past the old end + new file; MiB and blocks: the file after the last change):`);
  console.log(`  ${inc.changes.map((c) => `link ${c.link} = ${c.label} (seed ${c.seed})`).join('; ')}`);
  const last = (rel) => inc.changes.findLast((c) => c.floor.files[rel])?.floor.files[rel];
  const fileBody = files.map((rel) => [
    `${shortPath(rel)}`,
    f(last(rel).size_after / MiB, 1),
    String(last(rel).blocks),
    ...inc.changes.map((c) => (c.floor.files[rel] ? String(c.floor.files[rel].total) : '-')),
  ]);
  const sum = (c, k) => Object.values(c.floor.files).reduce((s, v) => s + v[k], 0);
  fileBody.push(['total', '', '', ...inc.changes.map((c) => String(c.floor.blocks))]);
  fileBody.push(['  of which in place', '', '', ...inc.changes.map((c) => String(sum(c, 'changed')))]);
  fileBody.push(['  past the old end', '', '', ...inc.changes.map((c) => String(sum(c, 'past_old_end')))]);
  fileBody.push(['  in new files', '', '', ...inc.changes.map((c) => String(sum(c, 'new_file')))]);
  printTable(['file', 'MiB', 'blocks', ...cols], fileBody, '  ');
  const gone = inc.changes.filter((c) => c.floor.gone.length).map((c) => `link ${c.link}: ${c.floor.gone.map(shortPath).join(', ')}`);
  if (gone.length) console.log(`  files gone: ${gone.join('; ')}`);
}

const cacheDir = path.resolve(opt.cache ?? path.join(ROOT, '.bench'));
const base = opt.dir ? path.resolve(opt.dir) : os.tmpdir();
await fs.mkdir(base, { recursive: true });
await fs.mkdir(cacheDir, { recursive: true });

const hw = hardware(cacheDir);
const hwLine = `hardware: ${hw.cpu}, ${hw.cores} cores, ${gib(hw.ram_bytes)} RAM, disk ${hw.disk ? `${hw.disk.source} ${hw.disk.fstype} ${gib(hw.disk.size_bytes)}${hw.disk.rotational === null ? '' : hw.disk.rotational ? ' (kernel says rotational)' : ' (non-rotational)'}` : 'unknown'}, load average ${hw.loadavg.map((x) => x.toFixed(2)).join(' ')}, node ${hw.node}, ${hw.kernel}`;
if (!opt.json) console.log(hwLine);
else log(hwLine);

// Installed tools, with their versions: restic and borg are optional (apt-get install -y restic borgbackup).
const tools = {
  tar: (await probe(['tar', '--version']))?.split('\n')[0] ?? null,
  zstd: (await probe(['zstd', '--version']))?.replace(/\*+/g, '').trim() ?? null,
  restic: (await probe(['restic', 'version']))?.split(' compiled')[0] ?? null,
  borg: (await probe(['borg', '--version'])) ?? null,
};
const use = {
  tar: !skip.has('tar') && tools.tar !== null && tools.zstd !== null,
  restic: !skip.has('restic') && tools.restic !== null,
  borg: !skip.has('borg') && tools.borg !== null,
};
for (const [name, version] of Object.entries(tools)) {
  if (name === 'tar' || name === 'zstd') continue;
  log(`${name}: ${version ?? 'not installed (apt-get install -y restic borgbackup)'}${version && skip.has(name) ? ' (skipped)' : ''}`);
}

// Headless, as on a server: the sample's master key comes from the environment, never a desktop keyring.
const aicoEnv = (masterKey, work) => {
  const env = { ...process.env, AICO_BACKUP_PASSWORD: 'bench-password', XDG_STATE_HOME: path.join(work, 'state') };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  if (masterKey) env.AICO_MASTER_KEY = masterKey;
  else delete env.AICO_MASTER_KEY;
  return env;
};

const work = await fs.mkdtemp(path.join(base, 'aico-bench-'));
let exitCode = 0;

/** Fresh empty dir per use: archive names carry a 1 s timestamp, and old outputs only eat disk. */
async function freshDir(dir) {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

try {
  const main = await cachedHome({ cacheDir, aico: AICO, sizeMb, seed, files: opt.files, toolVersion: engine.TOOL_VERSION, log });
  const flat = flatMb === null ? null : await cachedHome({ cacheDir, aico: AICO, sizeMb: flatMb, seed, files: opt.files, toolVersion: engine.TOOL_VERSION, log });
  const listDir = skip.has('cli') ? null : await cachedListDir({ cacheDir, engine, count: 500, seed, isInterrupted: () => interrupted !== null, log });
  const homes = [main, flat].filter(Boolean);
  for (const h of homes) h.stats = await treeStats(h.dir);
  // Read every byte once so no contender pays for the cold cache. (Not `tar -cf /dev/null`:
  // GNU tar notices /dev/null and skips reading file contents.)
  for (const h of homes) await sh(`tar -cf - -C ${q(h.dir)} . | cat >/dev/null`, { tmp: work });

  const bytes = main.stats.bytes;
  const rows = {};
  const row = (key, group, label, dataBytes = bytes) => (rows[key] = { group, label, dataBytes, walls: [], rss: [], tree: [], outBytes: null });
  const record = (key, r, outBytes) => {
    rows[key].walls.push(r.wall);
    if (Number.isFinite(r.rssKiB)) rows[key].rss.push(r.rssKiB);
    rows[key].tree.push(r.treeRssKiB);
    if (outBytes !== undefined) rows[key].outBytes = outBytes;
  };
  if (use.tar) row('tarCreate', 'create', 'tar -cf - | zstd -3 -T1');
  row('aicoCreate', 'create', 'aico backup create (encrypted, zstd 3)');
  if (use.restic) row('resticInit', 'create', 'restic init', null), row('resticBackup', 'create', 'restic backup');
  if (use.borg) row('borgInit', 'create', 'borg init -e repokey', null), row('borgCreate', 'create', 'borg create (zstd,3)');
  if (use.tar) row('tarList', 'verify', 'zstd -dc | tar -t');
  row('aicoVerify', 'verify', 'aico backup verify');
  if (use.restic) row('resticCheck', 'verify', 'restic check --read-data');
  if (use.borg) row('borgCheck', 'verify', 'borg check --verify-data');
  if (use.tar) row('tarExtract', 'restore', 'zstd -dc | tar -x');
  row('aicoRestore', 'restore', `aico backup restore (new dir${opt.files ? '' : ', validated'})`);
  if (use.restic) row('resticRestore', 'restore', 'restic restore');
  if (use.borg) row('borgExtract', 'restore', 'borg extract');
  if (flat) {
    const at = `@ ${(flat.stats.bytes / MiB).toFixed(0)} MiB home`;
    row('flatCreate', 'flat', `aico backup create ${at}`, flat.stats.bytes);
    row('flatVerify', 'flat', `aico backup verify ${at}`, flat.stats.bytes);
    row('flatRestore', 'flat', `aico backup restore ${at}`, flat.stats.bytes);
  }

  const include = opt.files ? ['--include', 'models,cache,config'] : [];
  const aicoCreate = async (home, out, env) => {
    const r = await timed(['node', AICO, '--home', home, '--json', 'backup', 'create', '--output', out, '--compression', 'zstd', '--compression-level', '3', ...include], { env, tmp: work });
    const doc = JSON.parse(r.stdout.trim().split('\n').pop());
    return { ...r, archive: doc.backup.path, bytes: doc.backup.bytes, doc };
  };
  const aicoVerify = (archive, env) => timed(['node', AICO, '--json', 'backup', 'verify', archive], { env, tmp: work });
  // A full restore into a directory that does not exist yet: decrypt, check every hash, stage, validate each database, swap.
  const aicoRestore = (archive, target, env) => timed(['node', AICO, '--json', 'backup', 'restore', archive, '--target', target, '--no-safety-backup'], { env, tmp: work });

  const env = aicoEnv(main.meta.master_key, work);
  const flatEnv = flat && aicoEnv(flat.meta.master_key, work);
  // restic and borg keep caches and keys under $HOME by default: a throwaway place per run instead, so
  // each run is a first backup into a new repository, as aico's is.
  const resticEnv = (dir) => ({ ...process.env, RESTIC_REPOSITORY: path.join(dir, 'repo'), RESTIC_PASSWORD: 'bench-password', RESTIC_CACHE_DIR: path.join(dir, 'cache') });
  const borgEnv = (dir) => ({ ...process.env, BORG_PASSPHRASE: 'bench-password', BORG_BASE_DIR: path.join(dir, 'base'), BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes' });
  const tarArchive = path.join(work, 'base.tar.zst');
  const dest = path.join(work, 'restore');

  // Restores go into a new directory; each must give back (nearly) all the home's bytes,
  // so a contender that restored less is not timed as if it had done the work.
  const restored = async (key, run) => {
    await fs.rm(dest, { recursive: true, force: true });
    await fs.mkdir(dest, { recursive: true });
    record(key, await run());
    const got = (await treeStats(dest)).bytes;
    // aico restores the databases and config, not the sample's marker file: hence "nearly".
    if (got < rows[key].dataBytes * 0.99) throw new CommandFailed(`${rows[key].label} restored ${got} bytes of ${rows[key].dataBytes}`);
    await fs.rm(dest, { recursive: true, force: true });
  };

  // Interleave contenders run by run, so drift on a shared machine hits them all alike.
  for (let i = 1; i <= runs; i++) {
    log(`run ${i}/${runs}`);
    const resticDir = await freshDir(path.join(work, 'restic'));
    const borgDir = await freshDir(path.join(work, 'borg'));
    const rEnv = resticEnv(resticDir);
    const bEnv = borgEnv(borgDir);
    const borgRepo = path.join(borgDir, 'repo');

    // create
    if (use.tar) {
      await fs.rm(tarArchive, { force: true });
      const r = await sh(`tar -cf - -C ${q(main.dir)} . | zstd -3 -T1 -q -o ${q(tarArchive)}`, { tmp: work });
      record('tarCreate', r, (await fs.stat(tarArchive)).size);
    }
    const created = await aicoCreate(main.dir, await freshDir(path.join(work, 'out')), env);
    record('aicoCreate', created, created.bytes);
    if (use.restic) {
      record('resticInit', await timed(['restic', 'init', '--quiet'], { env: rEnv, tmp: work }));
      const r = await timed(['restic', 'backup', '--quiet', '.'], { env: rEnv, cwd: main.dir, tmp: work });
      record('resticBackup', r, (await treeStats(rEnv.RESTIC_REPOSITORY)).bytes);
    }
    if (use.borg) {
      record('borgInit', await timed(['borg', 'init', '-e', 'repokey', borgRepo], { env: bEnv, tmp: work }));
      const r = await timed(['borg', 'create', '--compression', 'zstd,3', `${borgRepo}::bench`, '.'], { env: bEnv, cwd: main.dir, tmp: work });
      record('borgCreate', r, (await treeStats(borgRepo)).bytes);
    }

    // verify: read everything back and check it, writing nothing
    if (use.tar) record('tarList', await sh(`zstd -dc ${q(tarArchive)} | tar -t >/dev/null`, { tmp: work }));
    record('aicoVerify', await aicoVerify(created.archive, env));
    if (use.restic) record('resticCheck', await timed(['restic', 'check', '--read-data', '--quiet'], { env: rEnv, tmp: work }));
    if (use.borg) record('borgCheck', await timed(['borg', 'check', '--verify-data', borgRepo], { env: bEnv, tmp: work }));

    // restore
    if (use.tar) await restored('tarExtract', () => sh(`zstd -dc ${q(tarArchive)} | tar -x -C ${q(dest)}`, { tmp: work }));
    await restored('aicoRestore', () => aicoRestore(created.archive, path.join(dest, 'home'), env));
    if (use.restic) await restored('resticRestore', () => timed(['restic', 'restore', 'latest', '--quiet', '--target', dest], { env: rEnv, tmp: work }));
    if (use.borg) await restored('borgExtract', () => timed(['borg', 'extract', `${borgRepo}::bench`], { env: bEnv, cwd: dest, tmp: work }));
    await fs.rm(resticDir, { recursive: true, force: true });
    await fs.rm(borgDir, { recursive: true, force: true });

    if (flat) {
      const c = await aicoCreate(flat.dir, await freshDir(path.join(work, 'out')), flatEnv);
      record('flatCreate', c, c.bytes);
      record('flatVerify', await aicoVerify(c.archive, flatEnv));
      await restored('flatRestore', () => aicoRestore(c.archive, path.join(dest, 'home'), flatEnv));
    }
    await fs.rm(path.join(work, 'out'), { recursive: true, force: true });
  }
  await fs.rm(tarArchive, { force: true });

  // The longest commit of an AICO-like libSQL writer while a create runs (once, on a copy of the
  // home: the writer adds rows, and the cached home must stay as seeded).
  let stall = null;
  if (!opt.files && !skip.has('stall')) {
    log('writer stall: create while a libSQL writer commits every 5 ms');
    const copy = path.join(work, 'stall-home');
    await sh(`cp -a --reflink=auto ${q(main.dir)} ${q(copy)}`, { tmp: work });
    // The copy's gigabyte of dirty pages would otherwise be written back while the create runs, and
    // the writer's fsyncs would wait behind it: a stall of the copy, not of the backup.
    await sh(`sync -f ${q(copy)}`, { tmp: work });
    const salt = await fs.readFile(path.join(copy, 'data', 'aico.db.salt'));
    const key = await engine.deriveLibsqlKey(Buffer.from(main.meta.master_key), salt);
    const writer = startHelper(['node', fileURLToPath(new URL('./libsql-writer.mjs', import.meta.url)), path.join(copy, 'data', 'aico.db'), '5'], { env: { ...process.env, BENCH_LIBSQL_KEY: key } });
    try {
      if ((await writer.nextLine()) !== 'ready') throw new CommandFailed('the libSQL writer did not start');
      const report = async () => {
        writer.child.kill('SIGUSR2');
        return JSON.parse(await writer.nextLine());
      };
      await report(); // starts the count at the create
      const c = await aicoCreate(copy, await freshDir(path.join(work, 'out')), env);
      const during = await report();
      // As long again without a backup: what the writer's commits cost on this machine anyway.
      await new Promise((r) => setTimeout(r, c.wall * 1000));
      const idle = await report();
      const libsql = c.doc.backup.sources.libsql ?? {};
      stall = { create_s: c.wall, during, idle_same_length: idle, read_snapshot_ms: libsql.read_snapshot_ms ?? null, writer_block_ms: libsql.writer_block_ms ?? null };
    } finally {
      writer.stop();
      await fs.rm(copy, { recursive: true, force: true });
      await fs.rm(path.join(work, 'out'), { recursive: true, force: true });
    }
  }

  // Incremental backups and a 7-link chain, on a copy of the home (incremental.mjs); one run.
  let incremental = null;
  if (!opt.files && !skip.has('incremental')) {
    incremental = await incrementalSection({ source: main.dir, work, aico: AICO, env, resticEnv: use.restic ? resticEnv : null, row, record, log });
  }

  // The same create, verify and restore through an S3 server on 127.0.0.1 (s3.mjs); one run.
  let s3 = null;
  if (!skip.has('s3')) s3 = await s3Section({ source: main.dir, work, aico: AICO, root: ROOT, env, resticEnv: use.restic ? resticEnv : null, row, record, restored, log, rows });

  // Start-up costs: `aico --help`, and `aico backup list` of 500 backups (human output, as typed).
  let cli = null;
  if (listDir) {
    const reps = Math.max(5, runs);
    const help = [];
    const list = [];
    const cliEnv = aicoEnv(null, work);
    log(`cli: aico --help, aico backup list (500 backups), ${reps} times each`);
    for (let i = 0; i < reps; i++) {
      help.push(await timed(['node', AICO, '--help'], { env: cliEnv, tmp: work }));
      list.push(await timed(['node', AICO, 'backup', 'list', listDir.dir], { env: cliEnv, tmp: work }));
    }
    const sum = (rs) => ({ runs_s: rs.map((r) => r.wall), median_s: median(rs.map((r) => r.wall)), best_s: Math.min(...rs.map((r) => r.wall)), peak_rss_mib: Math.max(...rs.map((r) => r.rssKiB)) / 1024 });
    cli = { help: sum(help), list_500: { ...sum(list), dir: listDir.dir, backups: (await fs.readdir(listDir.dir)).length } };
  }
  const loadEnd = os.loadavg();

  const figures = {};
  for (const [key, r] of Object.entries(rows)) {
    const wall = median(r.walls);
    figures[key] = {
      group: r.group,
      label: r.label,
      runs_s: r.walls,
      median_s: wall,
      best_s: Math.min(...r.walls),
      mib_per_s: r.dataBytes ? r.dataBytes / MiB / wall : null,
      peak_rss_mib: r.rss.length ? Math.max(...r.rss) / 1024 : null,
      peak_tree_rss_mib: r.tree.length ? Math.max(...r.tree) / 1024 : null,
      output_bytes: r.outBytes,
    };
  }
  const ratio = (other, ours) => (figures[other] && figures[ours] ? figures[other].median_s / figures[ours].median_s : null);
  const atLeast = (value, target) => ({ value, target, pass: value === null || target === null ? null : value >= target });
  const atMost = (value, target) => ({ value, target, pass: value === null || target === null ? null : value <= target });
  const targets = {
    create_vs_tar_zstd: atLeast(ratio('tarCreate', 'aicoCreate'), TARGETS.create_vs_tar_zstd),
    create_vs_restic: atLeast(ratio('resticBackup', 'aicoCreate'), TARGETS.create_vs_restic),
    restore_vs_restic: atLeast(ratio('resticRestore', 'aicoRestore'), TARGETS.restore_vs_restic),
    verify_vs_restic_check: atLeast(ratio('resticCheck', 'aicoVerify'), TARGETS.verify_vs_restic_check),
    create_vs_borg: atLeast(ratio('borgCreate', 'aicoCreate'), null),
    restore_vs_borg: atLeast(ratio('borgExtract', 'aicoRestore'), null),
    verify_vs_borg_check: atLeast(ratio('borgCheck', 'aicoVerify'), null),
    peak_rss_create_mib: atMost(figures.aicoCreate.peak_rss_mib, TARGETS.peak_rss_mib),
    peak_rss_verify_mib: atMost(figures.aicoVerify.peak_rss_mib, TARGETS.peak_rss_mib),
    peak_rss_restore_mib: atMost(figures.aicoRestore.peak_rss_mib, TARGETS.peak_rss_mib),
  };
  if (flat) {
    // Larger home's peak RSS over the smaller one's, whichever of the two was the --size one.
    const bigIsMain = main.stats.bytes >= flat.stats.bytes;
    for (const [name, mainKey, flatKey] of [['create', 'aicoCreate', 'flatCreate'], ['verify', 'aicoVerify', 'flatVerify'], ['restore', 'aicoRestore', 'flatRestore']]) {
      const [big, small] = bigIsMain ? [figures[mainKey], figures[flatKey]] : [figures[flatKey], figures[mainKey]];
      targets[`rss_flat_${name}`] = { ...atMost(big.peak_rss_mib / small.peak_rss_mib, 1 + TARGETS.rss_flat_within), larger_home_mib: big.peak_rss_mib, smaller_home_mib: small.peak_rss_mib, home_size_ratio: bigIsMain ? main.stats.bytes / flat.stats.bytes : flat.stats.bytes / main.stats.bytes };
    }
  }
  if (stall) targets.writer_stall_ms = atMost(stall.during.longest_ms, TARGETS.writer_stall_ms);
  if (cli) {
    targets.help_s = atMost(cli.help.median_s, TARGETS.cli_s);
    targets.list_500_s = atMost(cli.list_500.median_s, TARGETS.cli_s);
  }
  if (incremental) {
    const per = (a, b) => (a === null || a === undefined || !b ? null : a / b);
    for (const c of incremental.changes) {
      const inc = c.incremental;
      c.ratios = {
        archive_vs_floor: per(inc.archive_bytes, c.floor.bytes),
        stored_vs_floor: per(inc.stored_bytes, c.floor.bytes),
        archive_vs_restic_added: per(inc.archive_bytes, c.restic?.added_bytes),
        time_vs_restic: per(inc.wall_s, c.restic?.wall_s),
        time_vs_full: per(inc.wall_s, incremental.full.wall_s),
      };
      if (!c.issue) continue;
      targets[`incr_${c.key}_vs_floor`] = atMost(c.ratios.archive_vs_floor, TARGETS.incr_vs_floor);
      targets[`incr_${c.key}_vs_restic_added`] = atMost(c.ratios.archive_vs_restic_added, TARGETS.incr_vs_restic_added);
      targets[`incr_${c.key}_time_vs_restic`] = atMost(c.ratios.time_vs_restic, TARGETS.incr_time_vs_restic);
      targets[`incr_${c.key}_time_vs_full`] = atMost(c.ratios.time_vs_full, TARGETS.incr_time_vs_full);
      targets[`incr_${c.key}_peak_rss_mib`] = atMost(inc.peak_rss_mib, TARGETS.incr_peak_rss_mib);
    }
    const ch = incremental.chain;
    targets.chain_restore_vs_full = { ...atMost(per(ch.restore.wall_s, ch.full_restore.wall_s), TARGETS.chain_restore_vs_full), links: ch.links };
  }

  const homeInfo = (h) => ({ dir: h.dir, kind: h.meta.kind, size_mib: h.meta.size_mib, seed: h.meta.seed, bytes: h.stats.bytes, files: h.stats.files, databases: h.meta.databases, seeded_at: h.meta.seeded_at, seed_s: h.meta.seed_s, reused: h.reused });
  const doc = {
    hardware: { ...hw, loadavg_end: loadEnd },
    tools,
    config: { runs, size_mib: sizeMb, seed, files: opt.files, flat_size_mib: flatMb, skip: [...skip], cache_dir: cacheDir },
    home: homeInfo(main),
    flat_home: flat ? homeInfo(flat) : null,
    rows: figures,
    writer_stall: stall,
    cli,
    incremental,
    s3,
    targets,
  };

  if (opt.json) {
    console.log(JSON.stringify(doc, null, 2));
  } else {
    const h = doc.home;
    console.log(`home: ${h.dir} (${h.kind === 'home' ? 'AICO sample home' : 'plain files'}, ${(h.bytes / MiB).toFixed(1)} MiB in ${h.files} files${h.databases ? `: ${Object.keys(h.databases).join(', ')}` : ''}; ${h.reused ? 'cached' : `seeded in ${f(h.seed_s, 0)} s`})`);
    console.log(`tools: ${tools.tar ?? 'tar missing'}; ${tools.zstd ?? 'zstd missing'}; ${tools.restic ?? 'restic not installed'}; ${tools.borg ?? 'borg not installed'}`);
    console.log(`${runs} run(s), interleaved; median wall time; MiB/s = home bytes / median; peak RSS = largest single process of the command (GNU time); tree RSS = largest sum over its process tree (sampled every 200 ms)${incremental ? '; [incremental]: one run of each step, on a copy of the home that the steps change, output MiB = the archive (restic: what its repository grew by)' : ''}`);
    console.log('');
    const head = ['', 'median s', 'best s', 'MiB/s', 'peak RSS MiB', 'tree RSS MiB', 'output MiB'];
    const body = [];
    let group = null;
    // Contenders not run: said at the end of the tools' comparison, before the incremental rows.
    const notRun = [['restic', 'restic'], ['borg', 'borg']].filter(([name]) => !use[name]).map(([name, label]) => [`  ${label}: ${tools[name] ? 'skipped' : 'not installed'}`, '', '', '', '', '', '']);
    for (const r of Object.values(figures)) {
      if (r.group !== group) {
        if (r.group === 'incremental') body.push(...notRun.splice(0));
        body.push([`[${(group = r.group)}]`, '', '', '', '', '', '']);
      }
      body.push([`  ${r.label}`, f(r.median_s), f(r.best_s), f(r.mib_per_s, 1), f(r.peak_rss_mib, 1), f(r.peak_tree_rss_mib, 1), r.output_bytes ? f(r.output_bytes / MiB, 1) : '-']);
    }
    body.push(...notRun);
    if (cli) {
      body.push(['[cli]', '', '', '', '', '', '']);
      body.push(['  aico --help', f(cli.help.median_s, 3), f(cli.help.best_s, 3), '', f(cli.help.peak_rss_mib, 1), '', '']);
      body.push([`  aico backup list (${cli.list_500.backups} backups)`, f(cli.list_500.median_s, 3), f(cli.list_500.best_s, 3), '', f(cli.list_500.peak_rss_mib, 1), '', '']);
    }
    printTable(head, body);
    console.log('');
    const verdict = (t) => (t.pass === null ? '' : t.pass ? ' PASS' : ' MISS');
    const x = (t, what) => (t.value === null ? `- (${what} not run)` : `${f(t.value)}x${t.target === null ? '' : ` (target >= ${t.target}x)`}${verdict(t)}`);
    console.log('ratios (their time / ours: >1 is faster than them):');
    for (const [label, key, what] of [
      ['create  vs tar | zstd -3 -T1', 'create_vs_tar_zstd', 'tar'],
      ['create  vs restic backup', 'create_vs_restic', 'restic'],
      ['create  vs borg create', 'create_vs_borg', 'borg'],
      ['restore vs restic restore', 'restore_vs_restic', 'restic'],
      ['restore vs borg extract', 'restore_vs_borg', 'borg'],
      ['verify  vs restic check --read-data', 'verify_vs_restic_check', 'restic'],
      ['verify  vs borg check --verify-data', 'verify_vs_borg_check', 'borg'],
    ]) {
      console.log(`  ${label.padEnd(36)} ${x(targets[key], what)}`);
    }
    const mib = (t, row) => `${f(t.value, 0)} MiB${t.target === null ? '' : ` (target <= ${t.target})`}${verdict(t)}, tree ${f(figures[row].peak_tree_rss_mib, 0)} MiB`;
    console.log(`peak RSS (largest process): create ${mib(targets.peak_rss_create_mib, 'aicoCreate')}; verify ${mib(targets.peak_rss_verify_mib, 'aicoVerify')}; restore ${mib(targets.peak_rss_restore_mib, 'aicoRestore')}`);
    if (flat) {
      const t0 = targets.rss_flat_create;
      console.log(`RSS flatness (home ${f(t0.home_size_ratio, 1)}x larger, peak RSS may grow <= ${TARGETS.rss_flat_within * 100} %):`);
      for (const name of ['create', 'verify', 'restore']) {
        const t = targets[`rss_flat_${name}`];
        console.log(`  ${name.padEnd(7)} ${f(t.larger_home_mib, 0)} MiB vs ${f(t.smaller_home_mib, 0)} MiB: ${f(t.value, 3)}${verdict(t)}`);
      }
    } else {
      console.log('RSS flatness: not measured (add --flat)');
    }
    if (stall) {
      const s = stall;
      console.log(`libSQL writer during create (${f(s.create_s, 1)} s): ${s.during.commits} commits, longest ${f(s.during.longest_ms, 1)} ms, p99 ${f(s.during.p99_ms, 1)} ms; same length without a backup: longest ${f(s.idle_same_length.longest_ms, 1)} ms, p99 ${f(s.idle_same_length.p99_ms, 1)} ms (read snapshot held ${s.read_snapshot_ms} ms, writer_block_ms ${s.writer_block_ms})`);
    }
    if (s3) {
      const vs = (a, b) => (figures[a] && figures[b] ? `${f(figures[a].median_s / figures[b].median_s)}x` : '-');
      console.log(`s3 (${s3.server}; ratio = bucket time / local time, >1 is slower): create ${vs('s3Create', 'aicoCreate')}, verify ${vs('s3Verify', 'aicoVerify')}, restore ${vs('s3Restore', 'aicoRestore')}${s3.restic ? `; vs restic over the same server (their time / ours): backup ${vs('s3ResticBackup', 's3Create')}, restore ${vs('s3ResticRestore', 's3Restore')}` : s3.restic_error ? `; restic over the same server: failed (${s3.restic_error})` : ''}`);
      const u = s3.uplink;
      // Written, then uploaded: the local create and then the archive's bytes at the link's rate.
      if (u && figures.aicoCreate) {
        const serial = figures.aicoCreate.median_s + u.floor_seconds;
        console.log(`s3 over a ${u.mib_per_s} MiB/s uplink: create ${f(u.seconds, 2)} s (${u.early_parts} of ${u.parts ?? '?'} parts sent while the archive was written); the archive's bytes at that rate take ${f(u.floor_seconds, 2)} s, the local create and then that ${f(serial, 2)} s (${f(serial / u.seconds)}x)`);
      }
    }
    if (incremental) reportIncremental(incremental, targets, verdict);
    else console.log('incremental: not measured (--skip incremental, or --files)');
    if (cli) console.log(`cli: aico --help ${f(cli.help.median_s, 3)} s${verdict(targets.help_s)}, backup list of ${cli.list_500.backups} ${f(cli.list_500.median_s, 3)} s${verdict(targets.list_500_s)} (target <= ${TARGETS.cli_s} s)`);
    console.log(`load average: ${hw.loadavg.map((v) => v.toFixed(2)).join(' ')} at the start, ${loadEnd.map((v) => v.toFixed(2)).join(' ')} at the end (${hw.cores} cores${hw.loadavg[0] > hw.cores * 0.35 ? ': something else was running, timings are noisy' : ''})`);
  }
} catch (error) {
  if (!(error instanceof CommandFailed)) throw error;
  console.error(error.message);
  exitCode = interrupted === 'SIGINT' ? 130 : interrupted ? 143 : 1;
} finally {
  if (opt.keep) log(`kept ${work}`);
  else await fs.rm(work, { recursive: true, force: true });
}
process.exitCode = exitCode;
