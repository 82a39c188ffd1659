// The journaled swap on plain files: a child process replaces two paths (a
// file and a directory), adds one and removes one, and is SIGKILLed at every
// crash point (AICO_FAULT); recovery must then leave every path wholly old
// (before the commit record) or wholly new (after it), and nothing behind.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { isAicoError } from '../../../src/engine/errors.js';
import { readSwapJournal, recoverSwap, refuseIncomplete, swapPaths, type SwapPair } from '../../../src/engine/fsutil/swap-journal.js';
import { ROOT, tempDir, treeHashes } from '../../helpers.js';

const dir = tempDir('aico-swap-journal-');
const JOURNAL = '.test.journal';
const MODULE = pathToFileURL(path.join(ROOT, 'src', 'engine', 'fsutil', 'swap-journal.ts')).href;

const PAIRS: SwapPair[] = [
  { path: 'a.txt', replacement: 'stage/a.txt' },
  { path: 'b', replacement: 'stage/b' },
  { path: 'sub/new.txt', replacement: 'stage/sub/new.txt' },
  { path: 'gone.txt', replacement: null },
];
/** Two renames per path, and the crash point before the first. */
const STEPS = 2 * PAIRS.length;

/** The old tree and, in stage/, what replaces it. */
async function makeRoot(name: string): Promise<string> {
  const root = path.join(dir, name);
  const write = async (rel: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), text);
  };
  await write('a.txt', 'old a');
  await write('b/1', 'old b1');
  await write('b/2', 'old b2');
  await write('gone.txt', 'old gone');
  await write('keep.txt', 'not swapped');
  await write('stage/a.txt', 'new a');
  await write('stage/b/1', 'new b1');
  await write('stage/b/3', 'new b3');
  await write('stage/sub/new.txt', 'new file');
  return root;
}

const OLD = { 'a.txt': { 'a.txt': 'old a' }, b: { 'b/1': 'old b1', 'b/2': 'old b2' }, 'sub/new.txt': {}, 'gone.txt': { 'gone.txt': 'old gone' } };
const NEW = { 'a.txt': { 'a.txt': 'new a' }, b: { 'b/1': 'new b1', 'b/3': 'new b3' }, 'sub/new.txt': { 'sub/new.txt': 'new file' }, 'gone.txt': {} };

/** The contents under each swapped path. */
async function contents(root: string): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const { path: p } of PAIRS) {
    out[p] = {};
    const abs = path.join(root, p);
    const st = await fs.lstat(abs).catch(() => null);
    if (st?.isFile()) out[p]![p] = await fs.readFile(abs, 'utf8');
    else if (st?.isDirectory()) for (const name of await fs.readdir(abs)) out[p]![`${p}/${name}`] = await fs.readFile(path.join(abs, name), 'utf8');
  }
  return out;
}

function state(got: Record<string, Record<string, string>>): Record<string, 'old' | 'new' | 'mixed'> {
  const eq = (a: object, b: object) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  return Object.fromEntries(PAIRS.map(({ path: p }) => [p, eq(got[p]!, OLD[p as keyof typeof OLD]) ? 'old' : eq(got[p]!, NEW[p as keyof typeof NEW]) ? 'new' : 'mixed']));
}

const all = (s: 'old' | 'new') => Object.fromEntries(PAIRS.map(({ path: p }) => [p, s]));

/** Runs the swap in a child process with AICO_FAULT=point. */
function swapInChild(root: string, point: string | undefined): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const code = `const { swapPaths } = await import(${JSON.stringify(MODULE)});
await swapPaths({ root: ${JSON.stringify(root)}, journal: ${JSON.stringify(JOURNAL)}, aside: 'aside', pairs: ${JSON.stringify(PAIRS)}, cleanup: ['stage'], extra: { why: 'test' } });`;
  return new Promise((resolve, reject) => {
    const env = { ...process.env, AICO_FAULT: point };
    if (point === undefined) delete env.AICO_FAULT;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (c, signal) => resolve({ code: c, signal, stderr }));
  });
}

describe('journaled swap', { concurrency: 2 }, () => {
  test('without a crash: every path is new, and the aside copies, the staging and the journal are gone', async () => {
    const root = await makeRoot('clean');
    const r = await swapInChild(root, undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(state(await contents(root)), all('new'));
    assert.deepEqual((await fs.readdir(root)).sort(), ['a.txt', 'b', 'keep.txt', 'sub']);
  });

  for (const point of [...Array.from({ length: STEPS + 1 }, (_, i) => `swap:${i}`), 'commit']) {
    const committed = point === 'commit';
    test(`killed at ${point}: recovery leaves every path wholly ${committed ? 'new' : 'old'}, nothing behind`, async () => {
      const root = await makeRoot(point.replace(':', '-'));
      const before = await treeHashes(root);
      const r = await swapInChild(root, point);
      assert.equal(r.signal, 'SIGKILL', `expected death at ${point}: code ${r.code}\n${r.stderr}`);
      const journal = await readSwapJournal(root, JOURNAL);
      assert.equal(journal?.state, committed ? 'committed' : 'swapping');
      assert.deepEqual(journal?.extra, { why: 'test' });
      const step = point.startsWith('swap:') ? Number(point.slice(5)) : STEPS;
      // The kill really landed mid-swap: some path already moved (past the first rename).
      if (step > 0) assert.notDeepEqual(state(await contents(root)), all('old'), `the swap had begun at ${point}`);

      assert.equal(await recoverSwap(root, JOURNAL), committed ? 'completed' : 'rolled-back');
      const got = state(await contents(root));
      for (const p of Object.keys(got)) assert.notEqual(got[p], 'mixed', `${p} is a mix of old and new after ${point}`);
      assert.deepEqual(got, all(committed ? 'new' : 'old'));
      if (!committed) {
        const after = await treeHashes(root);
        for (const staged of Object.keys(after).filter((p) => p.startsWith('stage/'))) delete before[staged];
        assert.deepEqual(after, Object.fromEntries(Object.entries(before).filter(([p]) => !p.startsWith('stage/'))), 'the whole tree is as before, staging gone');
      }
      assert.deepEqual((await fs.readdir(root)).filter((n) => ['aside', 'stage', JOURNAL].includes(n)), [], 'no aside copies, staging or journal left');
      assert.equal(await recoverSwap(root, JOURNAL), null, 'recovery is done once');
    });
  }

  test('a rename that fails half way rolls back at once and reports the error', async () => {
    const root = await makeRoot('fails');
    // "blocker" is a file, so the added path under it cannot be created: the last pair fails after the others moved.
    await fs.writeFile(path.join(root, 'blocker'), 'a file, not a directory');
    await fs.writeFile(path.join(root, 'stage', 'x'), 'new x');
    await assert.rejects(swapPaths({ root, journal: JOURNAL, aside: 'aside', pairs: [...PAIRS, { path: 'blocker/x', replacement: 'stage/x' }], cleanup: ['stage'] }), /ENOTDIR|EEXIST/);
    assert.deepEqual(state(await contents(root)), all('old'));
    assert.deepEqual((await fs.readdir(root)).filter((n) => ['aside', 'stage', JOURNAL].includes(n)), []);
  });

  test('a missing replacement is refused before anything moves', async () => {
    const root = await makeRoot('missing');
    await assert.rejects(swapPaths({ root, journal: JOURNAL, aside: 'aside', pairs: [...PAIRS, { path: 'c', replacement: 'stage/c' }] }), (e) => isAicoError(e, 'INTERNAL'));
    assert.deepEqual(state(await contents(root)), all('old'));
    assert.equal(await readSwapJournal(root, JOURNAL), null, 'no journal was written');
  });

  test('refuseIncomplete names the unfinished operation and the hint its kind gives from the journal', async () => {
    const root = await makeRoot('refuse');
    assert.equal((await swapInChild(root, 'swap:3')).signal, 'SIGKILL');
    const kind = { name: JOURNAL, op: 'test swap', finishHint: (d: string, j: { extra?: unknown }) => `finish ${d} (${JSON.stringify(j.extra)})` };
    await assert.rejects(refuseIncomplete(root, [kind]), (e) => {
      assert.ok(isAicoError(e, 'HOME_INCOMPLETE'));
      assert.match(e.message, /holds an unfinished test swap \(\.test\.journal\): it was interrupted while swapping its data in/);
      assert.equal(e.hint, `finish ${root} ({"why":"test"})`);
      return true;
    });
    await recoverSwap(root, JOURNAL);
    await refuseIncomplete(root, [kind]);
  });
});
