#!/usr/bin/env node
// Throughput and memory bench: aico `backup create` / `verify` against the
// single-threaded `tar | zstd -3 -T1` pipeline on the same warm tree.
//
//   npm run bench -- --size 512 --runs 3 [--dir D] [--keep] [--json]
//   (or AICO_BENCH_SIZE / AICO_BENCH_RUNS / AICO_BENCH_DIR in the environment)
//
// Every contender runs as a child process under /usr/bin/time, so the RSS we
// report is the CLI's own, not this script's. A MISS never fails the bench;
// only a command that fails does (exit 1, with its stderr).
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = 'usage: bench.mjs [--size MiB>0] [--runs N>=1] [--dir D] [--keep] [--json]';
let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      size: { type: 'string', default: process.env.AICO_BENCH_SIZE ?? '512' },
      runs: { type: 'string', default: process.env.AICO_BENCH_RUNS ?? '3' },
      dir: { type: 'string', default: process.env.AICO_BENCH_DIR },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n${USAGE}`);
  process.exit(2);
}
const sizeMb = Number(opt.size);
const runs = Number(opt.runs);
if (!(sizeMb > 0) || !Number.isInteger(runs) || runs < 1) {
  console.error(USAGE);
  process.exit(2);
}

const AICO = fileURLToPath(new URL('../bin/aico.js', import.meta.url));
if (!existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)))) {
  console.error('dist/ is missing: run `npm run build` first (or use `npm run bench`).');
  process.exit(2);
}
const PASSWORD_ENV = { ...process.env, AICO_BACKUP_PASSWORD: 'bench-password' };
const MiB = 1024 * 1024;
const log = (msg) => process.stderr.write(`${msg}\n`); // progress on stderr keeps --json stdout clean

class CommandFailed extends Error {}
// Children get their own process group (GNU time ignores SIGINT), so Ctrl-C is ours to forward:
// stop the running command, let it exit, then clean up as on any failure.
let running = null;
let interrupted = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupted = signal;
    if (running) process.kill(-running.pid, signal);
  });
}

/** Runs argv under /usr/bin/time; resolves to { wall seconds, rss KiB, stdout }. */
async function timed(argv, { env = process.env, timeFile }) {
  if (interrupted) throw new CommandFailed('interrupted');
  const child = spawn('/usr/bin/time', ['-o', timeFile, '-f', '%e %M', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running = child;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => (running = null));
  if (interrupted) throw new CommandFailed('interrupted');
  if (code !== 0) throw new CommandFailed(`command failed (exit ${code}): ${argv.join(' ')}\n${stderr.trim()}`);
  // On failure GNU time prefixes a "Command exited..." line, so read only the last one.
  const last = (await fs.readFile(timeFile, 'utf8')).trim().split('\n').pop();
  const [wall, rss] = last.split(' ').map(Number);
  return { wall, rssKiB: rss, stdout };
}

const sh = (script, timeFile) => timed(['bash', '-c', `set -euo pipefail; ${script}`], { timeFile });
const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;

async function treeBytes(dir) {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath ?? entry.path, entry.name))).size;
  }
  return total;
}

/** Fresh empty dir per run: archive names carry a 1 s timestamp, and old archives would only eat disk. */
async function freshDir(dir) {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

async function aicoCreate(home, outDir, timeFile, extra = []) {
  const r = await timed(['node', AICO, '--home', home, '--json', 'backup', 'create', '--output', outDir, '--compression', 'zstd', '--compression-level', '3', '--include', 'models,cache,config', ...extra], { env: PASSWORD_ENV, timeFile });
  const doc = JSON.parse(r.stdout.trim().split('\n').pop());
  return { ...r, archive: doc.backup.path, bytes: doc.backup.bytes };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const base = opt.dir ? path.resolve(opt.dir) : os.tmpdir();
await fs.mkdir(base, { recursive: true });
// Always a fresh subdirectory, even under --dir, so cleanup can never delete the user's own files.
const work = await fs.mkdtemp(path.join(base, 'aico-bench-'));
// Taken before we load the machine ourselves: a high figure means someone else is busy too.
const loadAtStart = os.loadavg()[0];
let exitCode = 0;

try {
  const tree = path.join(work, 'home');
  const small = path.join(work, 'home-small');
  const smallMb = sizeMb / 10;
  const T = (name) => path.join(work, `${name}.time`);
  for (const [dir, mb] of [[tree, sizeMb], [small, smallMb]]) {
    log(`seeding ${mb} MiB in ${dir}`);
    await timed(['node', AICO, '--home', dir, '--json', 'demo', 'seed', '--files', '--size', String(mb)], { timeFile: T('seed') });
  }
  const bytes = await treeBytes(tree);
  const smallBytes = await treeBytes(small);
  // Read every byte once so no contender pays for the cold cache. (Not `tar -cf /dev/null`:
  // GNU tar notices /dev/null and skips reading file contents.)
  for (const dir of [tree, small]) await sh(`tar -cf - -C ${q(dir)} . | cat >/dev/null`, T('warm'));

  const baseArchive = path.join(work, 'base.tar.zst');
  const rows = {
    baseline: { label: 'tar | zstd -3 -T1', walls: [], rss: [], bytes: 0, dataBytes: bytes },
    createEnc: { label: 'aico create zstd 3 encrypted', walls: [], rss: [], bytes: 0, dataBytes: bytes, vs: 'baseline' },
    createPlain: { label: 'aico create zstd 3 unencrypted', walls: [], rss: [], bytes: 0, dataBytes: bytes, vs: 'baseline' },
    // The decompress-and-parse half of the system pipeline, the fair yardstick for verify (it writes nothing).
    listBase: { label: 'zstd -dc | tar -t (baseline)', walls: [], rss: [], dataBytes: bytes },
    verify: { label: 'aico verify (encrypted)', walls: [], rss: [], dataBytes: bytes, vs: 'listBase' },
    extractBase: { label: 'zstd -dc | tar -x baseline archive', walls: [], rss: [], dataBytes: bytes },
    extractAico: { label: 'zstd -dc | tar -x aico archive', walls: [], rss: [], dataBytes: bytes, vs: 'extractBase' },
    restore: { label: 'aico restore (encrypted, new dir)', walls: [], rss: [], dataBytes: bytes, vs: 'extractBase' },
    createSmall: { label: `aico create encrypted @ ${smallMb} MiB`, walls: [], rss: [], bytes: 0, dataBytes: smallBytes },
  };
  const record = (row, r, withRss = true) => {
    row.walls.push(r.wall);
    if (withRss) row.rss.push(r.rssKiB);
  };

  // Interleave contenders run by run, so drift on a shared machine hits them all alike.
  for (let i = 1; i <= runs; i++) {
    log(`run ${i}/${runs}`);
    await fs.rm(baseArchive, { force: true });
    record(rows.baseline, await sh(`tar -cf - -C ${q(tree)} . | zstd -3 -T1 -q -o ${q(baseArchive)}`, T('baseline')), false);
    rows.baseline.bytes = (await fs.stat(baseArchive)).size;

    const enc = await aicoCreate(tree, await freshDir(path.join(work, 'out-enc')), T('enc'));
    record(rows.createEnc, enc);
    rows.createEnc.bytes = enc.bytes;
    const plain = await aicoCreate(tree, await freshDir(path.join(work, 'out-plain')), T('plain'), ['--no-encrypt']);
    record(rows.createPlain, plain);
    rows.createPlain.bytes = plain.bytes;

    record(rows.listBase, await sh(`zstd -dc ${q(baseArchive)} | tar -t >/dev/null`, T('list')), false);
    record(rows.verify, await timed(['node', AICO, '--json', 'backup', 'verify', enc.archive], { env: PASSWORD_ENV, timeFile: T('verify') }));

    // aico's unencrypted archive is a plain tar.zst, so the same system pipeline extracts both.
    for (const [row, archive] of [[rows.extractBase, baseArchive], [rows.extractAico, plain.archive]]) {
      const dest = await freshDir(path.join(work, 'extract'));
      record(row, await sh(`zstd -dc ${q(archive)} | tar -x -C ${q(dest)}`, T('extract')), false);
    }
    // A full restore: authenticate, decompress, check every hash, stage, swap (the bench tree holds no databases to validate).
    const restoreDest = path.join(await freshDir(path.join(work, 'extract')), 'home');
    record(rows.restore, await timed(['node', AICO, '--json', 'backup', 'restore', enc.archive, '--target', restoreDest, '--no-safety-backup'], { env: PASSWORD_ENV, timeFile: T('restore') }));
    await fs.rm(path.join(work, 'extract'), { recursive: true, force: true });

    const sm = await aicoCreate(small, await freshDir(path.join(work, 'out-small')), T('small'));
    record(rows.createSmall, sm);
    rows.createSmall.bytes = sm.bytes;
  }

  const figures = {};
  for (const [key, row] of Object.entries(rows)) {
    const wall = median(row.walls);
    figures[key] = {
      label: row.label,
      wall_s_median: wall,
      wall_s_best: Math.min(...row.walls),
      mib_per_s: row.dataBytes / MiB / wall,
      vs_baseline: row.vs ? median(rows[row.vs].walls) / wall : null,
      peak_rss_mib: row.rss.length ? Math.max(...row.rss) / 1024 : null,
      archive_bytes: row.bytes ?? null,
      compression_ratio: row.bytes ? row.dataBytes / row.bytes : null,
    };
  }
  const speedup = figures.createEnc.vs_baseline;
  const rssBig = figures.createEnc.peak_rss_mib;
  const rssSmall = figures.createSmall.peak_rss_mib;
  const verdict = {
    create_vs_tar_zstd_t1: { ratio: speedup, target: 1.0, aim: 1.3, pass: speedup >= 1.0 },
    peak_rss_create_mib: { value: rssBig, target: 150, pass: rssBig < 150 },
    rss_flat: { at_size_mib: rssBig, at_size_div10_mib: rssSmall, ratio: rssBig / rssSmall, limit: 1.5, pass: rssBig / rssSmall < 1.5 },
  };
  const env = { cores: os.availableParallelism(), loadavg_at_start: loadAtStart, node: process.version, size_mib: sizeMb, tree_bytes: bytes, small_tree_bytes: smallBytes, runs };

  if (opt.json) {
    console.log(JSON.stringify({ env, rows: figures, verdict }, null, 2));
  } else {
    const f = (x, d = 2) => (x === null || x === undefined ? '-' : x.toFixed(d));
    const head = ['', 'median s', 'best s', 'MiB/s', 'vs base', 'peak RSS MiB', 'archive MiB', 'ratio'];
    const body = Object.values(figures).map((r) => [r.label, f(r.wall_s_median), f(r.wall_s_best), f(r.mib_per_s, 1), r.vs_baseline === null ? '-' : `${f(r.vs_baseline)}x`, f(r.peak_rss_mib, 1), r.archive_bytes ? f(r.archive_bytes / MiB, 1) : '-', r.compression_ratio ? f(r.compression_ratio, 3) : '-']);
    const widths = head.map((_, c) => Math.max(...[head, ...body].map((line) => line[c].length)));
    const line = (cells) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
    console.log(`aico-backup bench: ${(bytes / MiB).toFixed(1)} MiB tree (${(smallBytes / MiB).toFixed(1)} MiB small tree), ${runs} run(s), median wall time, ${env.cores} cores, node ${env.node}`);
    console.log('');
    console.log(line(head));
    for (const cells of body) console.log(line(cells));
    console.log('');
    console.log('notes: vs base = baseline time / our time (>1 is faster); verify is compared with `zstd -dc | tar -t`, extraction with the baseline archive.');
    console.log('       extraction of aico\'s unencrypted archive uses the system `zstd -dc | tar -x`; aico restore is compared with the baseline extraction.');
    console.log('       tar-pipeline RSS is not measured; MiB/s is tree bytes / median wall time.');
    if (loadAtStart > 0.7) console.log(`       load average was ${loadAtStart.toFixed(2)} at the start: something else is running, timings may be noisy.`);
    console.log('');
    const pf = (p) => (p ? 'PASS' : 'MISS');
    console.log(`create vs tar|zstd -T1: ${f(speedup)}x (target >= 1.0x, aim 1.3x) ${pf(verdict.create_vs_tar_zstd_t1.pass)}`);
    console.log(`peak RSS create: ${f(rssBig, 0)} MiB (target < 150 MiB) ${pf(verdict.peak_rss_create_mib.pass)}`);
    console.log(`RSS at ${sizeMb} MiB vs ${smallMb} MiB: ${f(rssBig, 0)} MiB vs ${f(rssSmall, 0)} MiB (flat: ratio ${f(verdict.rss_flat.ratio)}, PASS if < 1.5) ${pf(verdict.rss_flat.pass)}`);
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
