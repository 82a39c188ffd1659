// Crash safety of `aico backup restore`, with real processes and real databases.
//
// A sample home (libSQL, Chroma, LMDB, config) is backed up; the target is a
// different sample ("old"), so every unit differs byte-wise from what the
// backup restores. The restore CLI is then SIGKILLed at each named fault point
// (AICO_FAULT, plus two points inside the journal's own write), and what the
// next restore does is checked: every unit must be wholly old or wholly
// restored, never mixed, and nothing may be left behind. Then Ctrl-C (once and
// twice) and SIGKILL at phases chosen from the restore's progress events.
//
// Seeded once; every target is an fs.cp copy. ~70-90 s (each restore starts a Chroma server).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { acquireDirLock, LOCK_NAME } from '../../src/engine/fsutil/lock.js';
import { JOURNAL_NAME, recoverInterrupted } from '../../src/engine/restore/journal.js';
import { UNITS } from '../../src/engine/restore/layout.js';
import { processesHolding } from '../../src/engine/sources/in-use.js';
import { BIN, runCli, tempDir, treeHashes, type CliResult } from '../helpers.js';

const dir = tempDir('aico-restore-crash-');
const at = (...p: string[]) => path.join(dir, ...p);
const PW = 'restore-crash-pw';
/** No keyring (no D-Bus), no fault unless asked, no stray home. */
const BASE_ENV = { AICO_BACKUP_PASSWORD: PW, DBUS_SESSION_BUS_ADDRESS: undefined, AICO_FAULT: undefined, AICO_LIBSQL_KEY: undefined, XDG_STATE_HOME: at('state') };

/** The units a restore swaps, and which home files belong to each. */
const UNIT_OF: [string, (rel: string) => boolean][] = [
  ['libsql', (r) => /^data\/aico\.db($|[.-])/.test(r)],
  ['chromadb', (r) => r.startsWith('data/memory/semantic/')],
  ['working', (r) => r.startsWith('data/memory/working/')],
  ['config', (r) => r.startsWith('config/')],
];
const UNIT_NAMES = UNIT_OF.map(([u]) => u);
type UnitHashes = Record<string, Record<string, string>>;

async function unitHashes(home: string): Promise<UnitHashes> {
  const all = await treeHashes(home);
  const out: UnitHashes = Object.fromEntries(UNIT_NAMES.map((u) => [u, {}]));
  for (const [rel, hash] of Object.entries(all)) {
    for (const [unit, owns] of UNIT_OF) if (owns(rel)) out[unit]![rel] = hash;
  }
  return out;
}

const same = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** Per unit: 'old', 'restored', or 'mixed' (neither: the failure this file exists to catch). */
function classify(got: UnitHashes): Record<string, 'old' | 'restored' | 'mixed'> {
  return Object.fromEntries(
    UNIT_NAMES.map((u) => [u, same(got[u]!, OLD[u]!) ? 'old' : same(got[u]!, RESTORED[u]!) ? 'restored' : 'mixed'] as const),
  );
}

/** Anything a restore leaves in the target's root: its staging, old copies, journal (and journal temp files). */
async function leftovers(target: string): Promise<string[]> {
  return (await fs.readdir(target)).filter((n) => n.startsWith('.aico-restore'));
}

const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

function restoreArgs(target: string, archive: string, extra: string[] = ['--no-safety-backup']): string[] {
  return ['--home', target, '--json', 'backup', 'restore', archive, ...extra];
}

function restoreCli(target: string, env: Record<string, string | undefined> = {}, archive = ARCHIVE): Promise<CliResult> {
  return runCli(restoreArgs(target, archive), { env: { ...BASE_ENV, AICO_MASTER_KEY: MASTER_KEY, ...env } });
}

/** Pids of Chroma servers whose command line names a path under `root`. */
function chromaServersUnder(root: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (cmd.includes('chromadb') && cmd.includes(`${root}/`)) pids.push(Number(p));
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Setup (once): the big home for the Ctrl-C test is seeded in the background meanwhile.

const started = Date.now();
const big = (async () => {
  const seeded = await runCli(['--home', at('big-home'), '--json', 'demo', 'seed', '--size', '40', '--seed', '11'], { env: BASE_ENV });
  assert.equal(seeded.code, 0, seeded.stderr);
  const created = await runCli(['--home', at('big-home'), 'backup', 'create', '-o', at('big-backups'), '--json'], {
    env: { ...BASE_ENV, AICO_MASTER_KEY: seeded.json.master_key },
  });
  assert.equal(created.code, 0, created.stdout + created.stderr);
  assert.equal(path.dirname(created.json.backup.path), at('big-backups'));
  return { archive: created.json.backup.path as string, masterKey: seeded.json.master_key as string };
})();
big.catch(() => {}); // reported by the test that awaits it

const [source, other] = await Promise.all([
  runCli(['--home', at('source'), '--json', 'demo', 'seed', '--size', '4', '--seed', '42'], { env: BASE_ENV }),
  runCli(['--home', at('old'), '--json', 'demo', 'seed', '--size', '4', '--seed', '7'], { env: BASE_ENV }),
]);
assert.equal(source.code, 0, source.stderr);
assert.equal(other.code, 0, other.stderr);
const MASTER_KEY: string = source.json.master_key;
const OLD_TREE = at('old');
// The samples' config files do not depend on the seed: make the old config differ too.
await fs.appendFile(path.join(OLD_TREE, 'config', 'runtime.yaml'), '# the old config\n');

const created = await runCli(['--home', at('source'), 'backup', 'create', '-o', at('backups'), '--json'], {
  env: { ...BASE_ENV, AICO_MASTER_KEY: MASTER_KEY },
});
assert.equal(created.code, 0, created.stdout + created.stderr);
const ARCHIVE: string = created.json.backup.path;
assert.equal(path.dirname(ARCHIVE), at('backups'), 'the archive is written where -o says');
assert.equal(created.json.keys.master_key_included, true, 'the backup carries its master key, so the restored libSQL validates');

const OLD = await unitHashes(OLD_TREE);
const OLD_ALL = await treeHashes(OLD_TREE);

// The restored state: a fault-free restore into a scratch copy of the old target.
const scratch = at('scratch');
await fs.cp(OLD_TREE, scratch, { recursive: true });
const clean = await restoreCli(scratch);
assert.equal(clean.code, 0, clean.stdout + clean.stderr);
const RESTORED = await unitHashes(scratch);
for (const u of UNIT_NAMES) {
  assert.ok(Object.keys(OLD[u]!).length > 0 && Object.keys(RESTORED[u]!).length > 0, `${u} exists in both states`);
  assert.ok(!same(OLD[u]!, RESTORED[u]!), `${u}: the old and the restored state must differ, or the test could not tell them apart`);
}

// How many swap steps a restore into the old target takes: two per unit path present before or after,
// and for config (swapped file by file, so files the backup does not hold stay) two per file it holds.
const swapPaths = UNITS.filter((u) => UNIT_NAMES.includes(u.name) && !u.mergeByFile).flatMap((u) => u.homePaths);
let entries = Object.keys(await treeHashes(at('source', 'config'))).length;
for (const p of swapPaths) if ((await exists(path.join(OLD_TREE, p))) || (await exists(path.join(scratch, p)))) entries++;
const LAST = 2 * entries;
const SETUP_MS = Date.now() - started;

const SWAPS = [...new Set([0, 1, 2, 3, 5, 8, LAST])].filter((n) => n <= LAST);
/**
 * AICO_FAULT's points, plus two it does not have: inside the journal's own atomic
 * write (temp file written and synced, not yet renamed over the journal), the
 * first time (before any rename of the swap) and the second (the commit record).
 * A preload kills the real CLI process there (NODE_OPTIONS=--import).
 */
const POINTS = ['staged', 'validated', ...SWAPS.map((n) => `swap:${n}`), 'commit', 'journal-write:1', 'journal-write:2'];
const CRASH_HOOK = at('crash-hook.mjs');
await fs.writeFile(
  CRASH_HOOK,
  `import { promises as fsp } from 'node:fs';
const rename = fsp.rename;
let writes = 0;
fsp.rename = async function (from, to, ...rest) {
  // The journal is written to a temp file and renamed over ${JOURNAL_NAME}: die just before that rename.
  if (String(to).endsWith('/${JOURNAL_NAME}') && ++writes === Number(process.env.AICO_TEST_KILL_AT_JOURNAL_WRITE)) {
    process.kill(process.pid, 'SIGKILL');
  }
  return rename.call(this, from, to, ...rest);
};
`,
);
function faultEnv(point: string): Record<string, string> {
  if (!point.startsWith('journal-write:')) return { AICO_FAULT: point };
  return { NODE_OPTIONS: `--import=${pathToFileURL(CRASH_HOOK).href}`, AICO_TEST_KILL_AT_JOURNAL_WRITE: point.slice('journal-write:'.length) };
}
/**
 * The points whose crashed state is also restored again through the CLI: one of each kind of state a crash leaves
 * (no journal, a journal mid-swap at its first and last step, a torn journal write of each record, a commit record).
 * The recovery itself is checked at every point; the rerun adds the CLI's own path into it, the same for each kind.
 */
const RERUN = new Set(['validated', 'swap:1', `swap:${LAST}`, 'commit', 'journal-write:1', 'journal-write:2']);
const describePoint = (point: string) =>
  point === 'journal-write:1' ? 'killed inside the first journal write' : point === 'journal-write:2' ? 'killed inside the commit-record write' : `AICO_FAULT=${point}`;
/** Where a point lies: before the journal, inside the swap, or after the commit record. */
const phaseOf = (point: string) =>
  point === 'commit' ? 'committed' : point.startsWith('swap:') || point === 'journal-write:2' ? 'swapping' : 'unjournaled';

/**
 * Runs the restore killed at `point` on a fresh copy of the old target and
 * asserts it died by SIGKILL there; then, for a point that is rerun, copies the crashed tree byte for byte,
 * so the recovery check and the rerun check each get the same crashed state
 * (one kill per point instead of two keeps the file's runtime down).
 */
async function killedAt(point: string): Promise<{ forRecovery: string; forRerun: string }> {
  const safe = point.replace(':', '-');
  const target = at(`crash-${safe}`);
  await fs.cp(OLD_TREE, target, { recursive: true });
  const r = await restoreCli(target, faultEnv(point));
  assert.equal(r.signal, 'SIGKILL', `${describePoint(point)}: expected death by SIGKILL, got code ${r.code} signal ${r.signal}\n${r.stdout}\n${r.stderr.slice(-2000)}`);
  assert.equal(r.code, null);
  // What a crash there leaves before any recovery.
  const journal = await fs.readFile(path.join(target, JOURNAL_NAME), 'utf8').then((t) => JSON.parse(t), () => null);
  const phase = phaseOf(point);
  if (phase === 'unjournaled') {
    assert.equal(journal, null, `no journal is written before the swap (${point})`);
    assert.deepEqual(await unitHashes(target), OLD, `nothing in the target changes before the swap (${point})`);
  } else {
    assert.equal(journal?.state, phase, `the journal says ${phase} at ${point}`);
    assert.equal(journal.entries.length, entries, `the journal lists ${entries} paths (LAST = swap:${LAST})`);
  }
  const step = point.startsWith('swap:') ? Number(point.slice(5)) : null;
  if (step === 0) assert.deepEqual(classify(await unitHashes(target)), Object.fromEntries(UNIT_NAMES.map((u) => [u, 'old'])));
  if ((step !== null && step > 0) || point === 'commit' || point === 'journal-write:2') {
    // The crash really changed the target, so the recovery has work to do.
    assert.notDeepEqual(pick(await treeHashes(target)), pick(OLD_ALL), `the target was changed before the crash at ${point}`);
  }
  if (!RERUN.has(point)) return { forRecovery: target, forRerun: target };
  const copy = at(`crash-${safe}-copy`);
  await fs.cp(target, copy, { recursive: true });
  return { forRecovery: copy, forRerun: target };
}

const crashes = new Map<string, ReturnType<typeof killedAt>>();
/** One crash per point, shared by its two tests (whichever runs first starts it). */
function crashAt(point: string): ReturnType<typeof killedAt> {
  if (!crashes.has(point)) crashes.set(point, killedAt(point));
  return crashes.get(point)!;
}

/** The home's files outside the restore's bookkeeping (staging, old copies, journal, lock, audit log). */
const pick = (h: Record<string, string>) =>
  Object.fromEntries(Object.entries(h).filter(([rel]) => !rel.startsWith('.aico-') && !rel.startsWith('data/logs/')));

// ---------------------------------------------------------------------------------------------

describe('restore killed at every fault point', { concurrency: 3 }, () => {
  test(`setup: two sample homes, a backup, the restored state; ${entries} swapped paths, swap steps 1..${LAST} (${SETUP_MS} ms)`, () => {
    assert.ok(LAST >= 8, `a full restore swaps at least libSQL, Chroma, working memory and config (got ${LAST} steps)`);
    const databases = clean.json.databases as { name: string; validation: { ok: boolean } | null }[];
    for (const db of ['libsql', 'chromadb', 'working']) assert.equal(databases.find((d) => d.name === db)?.validation?.ok, true, db);
  });

  for (const point of POINTS) {
    const phase = phaseOf(point);
    const expected = phase === 'committed' ? 'restored' : 'old';

    test(`${describePoint(point)}: the next restore's recovery leaves every unit ${expected}, no leftovers`, async () => {
      const target = (await crashAt(point)).forRecovery;
      // What the next restore does before anything else: take the lock (which clears a dead
      // run's staging), then recover from the journal.
      const lock = await acquireDirLock(target, 'restore');
      assert.match(lock.takeover ?? '', /stale lock/, 'the dead run’s lock is taken over');
      const recovered = await recoverInterrupted(target);
      await lock.release();
      assert.equal(recovered, phase === 'committed' ? 'completed' : phase === 'swapping' ? 'rolled-back' : null);

      const state = classify(await unitHashes(target));
      for (const u of UNIT_NAMES) assert.notEqual(state[u], 'mixed', `${u} is a mix of old and restored after recovering from ${point}`);
      assert.deepEqual(state, Object.fromEntries(UNIT_NAMES.map((u) => [u, expected])));
      assert.deepEqual(await leftovers(target), [], 'no staging, old copies or journal left');
      assert.equal(await exists(path.join(target, LOCK_NAME)), false);
      assert.equal(await recoverInterrupted(target), null, 'recovery is done once');
      if (expected === 'old') assert.deepEqual(pick(await treeHashes(target)), pick(OLD_ALL), 'the whole home is as before');
    });

    if (!RERUN.has(point)) continue;
    test(`${describePoint(point)}: rerunning the restore recovers${phase === 'unjournaled' ? '' : ' (RESTORE_RECOVERED)'}, succeeds and validates every database`, async () => {
      const target = (await crashAt(point)).forRerun;
      const r = await restoreCli(target);
      assert.equal(r.code, 0, r.stdout + r.stderr.slice(-2000));
      assert.equal(r.json.restored, true);
      const codes = (r.json.warnings as { code: string }[]).map((w) => w.code);
      assert.ok(codes.includes('STALE_LOCK'), `the dead run’s lock is reported: ${codes}`);
      assert.equal(codes.includes('RESTORE_RECOVERED'), phase !== 'unjournaled', `RESTORE_RECOVERED iff there was a journal: ${codes}`);
      assert.equal(r.json.recovered, phase === 'committed' ? 'completed' : phase === 'swapping' ? 'rolled-back' : null);

      const databases = r.json.databases as { name: string; action: string; validation: { ok: boolean; database: string } | null }[];
      assert.deepEqual(databases.map((d) => d.name).sort(), [...UNIT_NAMES].sort());
      for (const db of ['libsql', 'chromadb', 'working']) {
        assert.equal(databases.find((d) => d.name === db)?.validation?.ok, true, `${db} validated`);
      }
      assert.deepEqual(classify(await unitHashes(target)), Object.fromEntries(UNIT_NAMES.map((u) => [u, 'restored'])));
      assert.deepEqual(await leftovers(target), []);
      assert.equal(await exists(path.join(target, LOCK_NAME)), false);
    });
  }
});

// ---------------------------------------------------------------------------------------------

interface Watched {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The phase events seen before the signal was sent, and after. */
  phasesBefore: string[];
  phasesAfter: string[];
}

/** Starts a restore and sends `signal` once `when(event line)` says so (or the poll says so). */
function restoreAndSignal(
  target: string,
  archive: string,
  masterKey: string,
  signal: NodeJS.Signals,
  when: { line?: (l: string) => boolean; poll?: () => boolean },
  extra: string[],
): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, AICO_HOME: undefined, ...BASE_ENV, AICO_MASTER_KEY: masterKey };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...restoreArgs(target, archive, extra)], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const phasesBefore: string[] = [];
    const phasesAfter: string[] = [];
    const send = () => {
      if (sent) return;
      sent = true;
      child.kill(signal);
    };
    let pending = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) {
        const phase = /"type":"phase","phase":"(\w+)"/.exec(l)?.[1];
        if (sent) {
          if (phase) phasesAfter.push(phase);
          continue;
        }
        if (phase) phasesBefore.push(phase);
        if (when.line?.(l)) send();
      }
    });
    const timer = when.poll
      ? setInterval(() => {
          if (!sent && when.poll!()) send();
        }, 20)
      : null;
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal: sig, stdout, stderr, phasesBefore, phasesAfter });
    });
  });
}

describe('interrupting a restore', { concurrency: 2 }, () => {
  test('Ctrl-C (SIGINT) while a 40 MiB sample is being staged: exit 130, target unchanged, nothing left', async () => {
    const { archive, masterKey } = await big;
    const target = at('sigint-stage');
    const safety = at('sigint-stage-safety');
    await fs.cp(OLD_TREE, target, { recursive: true });
    // The first progress event: files are being verified and written into staging.
    const r = await restoreAndSignal(target, archive, masterKey, 'SIGINT', { line: (l) => l.includes('"type":"progress"') }, ['-o', safety]);
    assert.equal(r.code, 130, `exit code ${r.code} (${r.signal}); phases before Ctrl-C: ${r.phasesBefore}\n${r.stdout}`);
    assert.ok(!r.phasesBefore.includes('swap'), 'Ctrl-C came before the swap');
    assert.equal(JSON.parse(r.stdout).error.code, 'CANCELLED', r.stdout);
    assert.deepEqual(await unitHashes(target), OLD, 'every unit as before');
    assert.deepEqual(pick(await treeHashes(target)), pick(OLD_ALL), 'the whole home as before');
    assert.deepEqual(await leftovers(target), []);
    assert.equal(await exists(path.join(target, LOCK_NAME)), false, 'the lock is released');
    assert.deepEqual(await fs.readdir(safety).catch(() => []), [], 'no safety backup (or part of one) was written');
    // A failed restore in place writes nothing into the home: its audit line goes to the state directory.
    const audit = (await fs.readFile(at('state', 'aico-backup', 'backup-audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(audit.some((l) => l.target === target && l.result === 'failed: CANCELLED'), JSON.stringify(audit));
  });

  test('Ctrl-C while the Chroma server validates: exit 130, server stopped, target unchanged, nothing left', async () => {
    const target = at('sigint-validate');
    await fs.cp(OLD_TREE, target, { recursive: true });
    const r = await restoreAndSignal(target, ARCHIVE, MASTER_KEY, 'SIGINT', { poll: () => chromaServersUnder(target).length > 0 }, ['--no-safety-backup']);
    assert.equal(r.code, 130, `exit code ${r.code} (${r.signal}); phases before Ctrl-C: ${r.phasesBefore}\n${r.stdout}`);
    assert.equal(r.phasesBefore.at(-1), 'validate', `Ctrl-C came during validation: ${r.phasesBefore}`);
    assert.deepEqual(r.phasesAfter, [], 'Ctrl-C stops the validation: no later phase (such as "Swapping the restored data into ...") is started');
    assert.deepEqual(chromaServersUnder(target), [], 'the Chroma server was stopped');
    assert.deepEqual(await processesHolding(target), [], 'no process holds files in the target');
    assert.deepEqual(await unitHashes(target), OLD);
    assert.deepEqual(await leftovers(target), []);
    assert.equal(await exists(path.join(target, LOCK_NAME)), false);
  });

  test('Ctrl-C once the swap has begun: the restore completes, and the exit code says so', async () => {
    const target = at('sigint-swap');
    await fs.cp(OLD_TREE, target, { recursive: true });
    const r = await restoreAndSignal(target, ARCHIVE, MASTER_KEY, 'SIGINT', { line: (l) => l.includes('"phase":"swap"') }, ['--no-safety-backup']);
    assert.equal(r.phasesBefore.at(-1), 'swap');
    const state = classify(await unitHashes(target));
    const states = new Set(Object.values(state));
    assert.equal(states.size, 1, `every unit in one state: ${JSON.stringify(state)}`);
    assert.deepEqual(await leftovers(target), []);
    assert.equal(await exists(path.join(target, LOCK_NAME)), false);
    const out = JSON.parse(r.stdout);
    if (states.has('restored')) {
      // Too late to cancel: the data is restored and the output says ok, so the exit code must not say "cancelled".
      assert.equal(out.ok, true);
      assert.equal(r.code, 0, `the restore completed (ok: true, every unit restored) but the process exits ${r.code}, which means "cancelled"`);
    } else {
      assert.equal(r.code, 130);
      assert.equal(out.error?.code, 'CANCELLED');
    }
  });

  test('a second Ctrl-C during the swap exits at once; the next recovery leaves every unit wholly old or restored', async () => {
    const target = at('sigint-twice');
    await fs.cp(OLD_TREE, target, { recursive: true });
    const r = await new Promise<Watched>((resolve, reject) => {
      const env: Record<string, string | undefined> = { ...process.env, AICO_HOME: undefined, ...BASE_ENV, AICO_MASTER_KEY: MASTER_KEY };
      for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
      const child = spawn(process.execPath, [BIN, ...restoreArgs(target, ARCHIVE)], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let sent = false;
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => {
        stderr += d;
        if (!sent && stderr.includes('"phase":"swap"')) {
          sent = true;
          child.kill('SIGINT');
          // Apart, so the two do not merge into one pending signal.
          setTimeout(() => child.kill('SIGINT'), 15);
        }
      });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, phasesBefore: [], phasesAfter: [] }));
    });
    // Exit 130 from the second Ctrl-C; or, when the swap of this small home was already done when it came, the
    // finished process, its handlers gone, is ended by the signal itself. Either way the units are checked below.
    assert.ok(r.code === 130 || (r.code === null && r.signal === 'SIGINT' && /"ok":true/.test(r.stdout)), `${r.code} ${r.signal} ${r.stdout}`);
    const lock = await acquireDirLock(target, 'restore');
    const recovered = await recoverInterrupted(target);
    await lock.release();
    // The second Ctrl-C exits at an unpredictable await of the swap, so this test reaches every
    // branch over many runs; it fails now and then on the journal temp file bug that the
    // 'killed inside the first journal write' tests show deterministically.
    // Depending on where the exit lands: before the journal (all old, nothing to recover), inside
    // the swap (rolled back: all old), after the commit record (completed) or after the clean-up.
    const state = classify(await unitHashes(target));
    const states = [...new Set(Object.values(state))];
    assert.equal(states.length, 1, `every unit in one state: ${JSON.stringify(state)} (recovered: ${recovered})`);
    assert.notEqual(states[0], 'mixed', `recovered: ${recovered}`);
    if (recovered === 'rolled-back') assert.equal(states[0], 'old');
    if (recovered === 'completed') assert.equal(states[0], 'restored');
    assert.deepEqual(await leftovers(target), []);
  });

  test('SIGKILL while the Chroma server validates: the server does not outlive it; the next restore succeeds', async () => {
    const target = at('sigkill-validate');
    await fs.cp(OLD_TREE, target, { recursive: true });
    let server: number[] = [];
    const r = await restoreAndSignal(
      target,
      ARCHIVE,
      MASTER_KEY,
      'SIGKILL',
      { poll: () => (server = chromaServersUnder(target)).length > 0 },
      ['--no-safety-backup'],
    );
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(server.length > 0, 'a Chroma server was running when the restore was killed');
    let alive = server;
    for (let i = 0; i < 100 && alive.length; i++) {
      await sleep(50);
      alive = chromaServersUnder(target);
    }
    try {
      assert.deepEqual(alive, [], `an orphaned Chroma server (pid ${alive}) outlived the killed restore`);
    } finally {
      for (const pid of alive) process.kill(pid, 'SIGKILL');
    }
    assert.deepEqual(await unitHashes(target), OLD, 'nothing swapped before the kill');
    const rerun = await restoreCli(target);
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr.slice(-2000));
    assert.deepEqual(classify(await unitHashes(target)), Object.fromEntries(UNIT_NAMES.map((u) => [u, 'restored'])));
    assert.deepEqual(await leftovers(target), []);
  });
});
