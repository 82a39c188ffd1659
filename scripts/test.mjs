// Runs every test/**/*.test.ts with node's test runner (through tsx), one file per process.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ensurePrereqs } from './prereqs.mjs';

/**
 * Files that spend most of their time waiting on the clock (cron starts a job
 * only on the minute): they run beside the others instead of holding one of
 * the two slots while they sleep. Their report follows the others'.
 */
const WAITING = new Set([path.join('test', 'e2e', 'schedule-cron.test.ts')]);

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : find(p);
    return name.endsWith('.test.ts') || name.endsWith('.test.tsx') ? [p] : [];
  });
}

/** One test runner over `files`; its report goes to stdout as it comes, or is kept for later. */
function run(files, { keep = false } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
    stdio: ['ignore', keep ? 'pipe' : 'inherit', keep ? 'pipe' : 'inherit'],
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  });
  const report = [];
  child.stdout?.on('data', (d) => report.push(d));
  child.stderr?.on('data', (d) => report.push(d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, report: Buffer.concat(report) })));
}

ensurePrereqs();
const only = process.argv.slice(2);
const files = only.length ? only : find('test').sort();
const waiting = only.length ? [] : files.filter((f) => WAITING.has(f));
const side = waiting.length ? run(waiting, { keep: true }) : Promise.resolve({ code: 0, report: Buffer.alloc(0) });
const main = await run(files.filter((f) => !waiting.includes(f)));
const beside = await side;
if (waiting.length) process.stdout.write(`\n# run beside the others: ${waiting.join(' ')}\n${beside.report}`);
process.exit(main.code || beside.code);
