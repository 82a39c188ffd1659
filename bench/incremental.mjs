// Incremental backups on a copy of the cached home (the issue "Incremental and
// differential backups"): for a plain `aico demo churn` (an ordinary day,
// append-heavy) and `demo churn --percent 1` (1% of the log rows rewritten at
// scattered places), the incremental's size against the changed-block floor
// and against what restic adds for the same change, its time against restic's
// incremental and our own full backup, its peak RSS; then four more churns to a
// 7-link chain, whose newest point is restored and compared byte for byte with
// the restore of a full backup of the same state.
//
// One run of each step: the steps change the home, so they cannot be repeated
// or interleaved without starting over. The block hashing runs in a worker
// thread (blocks.mjs) and only between timed commands. Reporting is bench.mjs's.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BLOCK, blockHashes, changedBlocks, sameTrees } from './blocks.mjs';
import { treeStats } from './homes.mjs';
import { CommandFailed, q, sh, timed } from './proc.mjs';

/** The changes, applied one after another to the same home; each is followed by an incremental. */
export const CHANGES = [
  // The issue's two changes: measured against its targets, and against restic.
  { key: 'churn', label: 'demo churn', seed: 1, percent: null, issue: true },
  { key: 'pct1', label: 'demo churn --percent 1', seed: 2, percent: 1, issue: true },
  // More ordinary days, to make the chain 7 links long (full + 6 incrementals); floors measured all the same.
  ...[3, 4, 5, 6].map((seed) => ({ key: `churn${seed}`, label: 'demo churn', seed, percent: null, issue: false })),
];
/** Names a chain restore may legitimately differ in: LMDB's reader table, and restore's own audit line (archive name, time). */
export const COMPARE_IGNORES = ['lock.mdb', 'data/logs/backup-audit.log'];
export const RESTIC_ADDITION = 'growth of the sum of file sizes under the restic repository directory';

const lastJson = (stdout) => JSON.parse(stdout.trim().split('\n').pop());
const mib = (kib) => (Number.isFinite(kib) ? kib / 1024 : null);
const timing = (r) => ({ wall_s: r.wall, peak_rss_mib: mib(r.rssKiB), peak_tree_rss_mib: mib(r.treeRssKiB) });

/**
 * Runs the section. source: the cached home (copied, never changed); env: aico's environment
 * (AICO_MASTER_KEY, the backup password); resticEnv: dir -> restic's environment, or null
 * when restic is not used; row/record: bench.mjs's table rows (group 'incremental').
 */
export async function incrementalSection({ source, work, aico, env, resticEnv, row, record, log }) {
  const dir = path.join(work, 'incremental');
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(dir, { recursive: true });
  const home = path.join(dir, 'home');
  const chainDir = path.join(dir, 'chain');
  const fullDir = path.join(dir, 'full');
  await fs.mkdir(chainDir);
  await fs.mkdir(fullDir);
  const opts = { env, tmp: work };
  const started = performance.now();
  let hashingS = 0;
  const hashed = async () => {
    const t = performance.now();
    const h = await blockHashes(home);
    hashingS += (performance.now() - t) / 1000;
    return h;
  };

  log('incremental: copying the home');
  await sh(`cp -a --reflink=auto ${q(source)} ${q(home)}`, { tmp: work });
  // The copy's dirty pages would otherwise be written back during the first timed commands.
  await sh(`sync -f ${q(home)}`, { tmp: work });
  const homeBytes = async () => (await treeStats(home)).bytes;
  const bytesBefore = await homeBytes();

  const create = async (key, label, out, extra = []) => {
    row(key, 'incremental', label, await homeBytes());
    const r = await timed(['node', aico, '--home', home, '--json', 'backup', 'create', '--output', out, '--compression', 'zstd', '--compression-level', '3', ...extra], opts);
    const b = lastJson(r.stdout).backup;
    record(key, r, b.bytes);
    return { ...timing(r), row: key, path: b.path, type: b.type, chain_length: b.chain_length, archive_bytes: b.bytes, stored_bytes: b.stored_bytes, data_bytes: b.data_bytes };
  };

  let before = await hashed();
  log('incremental: full backup (link 1)');
  const full = await create('incrFull', 'aico backup create (full: link 1 of the chain)', chainDir);

  let restic = null;
  if (resticEnv) {
    const rEnv = resticEnv(path.join(dir, 'restic'));
    const repo = rEnv.RESTIC_REPOSITORY;
    await timed(['restic', 'init', '--quiet'], { env: rEnv, tmp: work });
    const backup = async (key, label) => {
      row(key, 'incremental', label, await homeBytes());
      const was = (await treeStats(repo)).bytes;
      const r = await timed(['restic', 'backup', '--quiet', '.'], { env: rEnv, cwd: home, tmp: work });
      const added = (await treeStats(repo)).bytes - was;
      record(key, r, added);
      return { ...timing(r), row: key, added_bytes: added };
    };
    log('incremental: restic backup (first, into a new repository)');
    restic = { first: await backup('incrResticFirst', 'restic backup (first, into a new repository)'), backup };
  }

  const changes = [];
  for (const [i, c] of CHANGES.entries()) {
    const link = i + 2;
    const what = `${c.label} (seed ${c.seed})`;
    log(`incremental: ${what}, then the incremental (link ${link})`);
    const churnArgv = ['node', aico, '--home', home, '--json', 'demo', 'churn', '--seed', String(c.seed), ...(c.percent ? ['--percent', String(c.percent)] : [])];
    const churned = await timed(churnArgv, opts);
    const churn = lastJson(churned.stdout);
    await sh(`sync -f ${q(home)}`, { tmp: work });
    const after = await hashed();
    const floor = changedBlocks(before, after);
    before = after;
    const incremental = await create(`incr_${c.key}`, `aico incremental: ${what}`, chainDir, ['--type', 'incremental']);
    if (incremental.type !== 'incremental' || incremental.chain_length !== link - 1) {
      throw new CommandFailed(`the incremental after ${what} is a ${incremental.type} at chain length ${incremental.chain_length}, expected an incremental at ${link - 1}`);
    }
    const theirs = c.issue && restic ? await restic.backup(`restic_${c.key}`, `restic backup: ${what}`) : null;
    changes.push({
      key: c.key,
      label: c.label,
      seed: c.seed,
      percent: c.percent,
      issue: c.issue,
      link,
      churn: { wall_s: churned.wall, libsql: churn.libsql, chromadb: churn.chromadb, lmdb: churn.lmdb, skipped: churn.skipped },
      floor: { block_size: BLOCK, blocks: floor.blocks, bytes: floor.bytes, files: floor.files, gone: floor.gone },
      incremental,
      restic: theirs,
    });
  }

  // The newest point of the chain, and a full backup of the same state, each restored into a new directory.
  const restoreRow = async (key, label, archive, target, dataBytes) => {
    row(key, 'incremental', label, dataBytes);
    const r = await timed(['node', aico, '--json', 'backup', 'restore', archive, '--target', target, '--no-safety-backup'], opts);
    record(key, r);
    return { ...timing(r), row: key, target };
  };
  const newest = changes.at(-1).incremental;
  const links = newest.chain_length + 1;
  log(`incremental: restoring the newest point of the ${links}-link chain`);
  const chainRestore = await restoreRow('incrChainRestore', `aico backup restore: newest of the ${links}-link chain`, newest.path, path.join(dir, 't1'), newest.data_bytes);
  await fs.rm(path.join(dir, 'restic'), { recursive: true, force: true }); // disk: restic is done
  log('incremental: full backup of the same state, and its restore');
  const fullAgain = await create('incrFullFinal', 'aico backup create (full of the same final state)', fullDir);
  const fullRestore = await restoreRow('incrFullRestore', 'aico backup restore: that full', fullAgain.path, path.join(dir, 't2'), fullAgain.data_bytes);
  const compared = await sameTrees(chainRestore.target, fullRestore.target, COMPARE_IGNORES);
  if (compared.differences.length > 0 || compared.files === 0) {
    throw new CommandFailed(
      `INCREMENTAL CHAIN RESTORE IS WRONG: the newest point of the ${links}-link chain (${chainRestore.target}) and the full backup of the same state (${fullRestore.target}) restored different trees:\n  ${compared.differences.slice(0, 20).join('\n  ') || 'no files compared'}${compared.differences.length > 20 ? `\n  ... ${compared.differences.length - 20} more` : ''}`,
    );
  }
  const bytesAfter = await homeBytes();
  await fs.rm(dir, { recursive: true, force: true });

  return {
    runs: 1,
    duration_s: (performance.now() - started) / 1000,
    hashing_s: hashingS,
    source,
    home_bytes_before: bytesBefore,
    home_bytes_after: bytesAfter,
    restic_addition: restic ? RESTIC_ADDITION : null,
    full,
    restic_first: restic?.first ?? null,
    changes,
    chain: {
      links,
      newest: path.basename(newest.path),
      chain_bytes: full.archive_bytes + changes.reduce((s, c) => s + c.incremental.archive_bytes, 0),
      restore: chainRestore,
      full: fullAgain,
      full_restore: fullRestore,
      compared: { identical: true, files: compared.files, bytes: compared.bytes, ignored: COMPARE_IGNORES },
    },
  };
}
