// Runs every test/**/*.test.ts with node's test runner (through tsx), one file per process.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ensurePrereqs } from './prereqs.mjs';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : find(p);
    return name.endsWith('.test.ts') || name.endsWith('.test.tsx') ? [p] : [];
  });
}

ensurePrereqs();
const only = process.argv.slice(2);
const files = only.length ? only : find('test').sort();
const reporter = process.stdout.isTTY ? 'spec' : 'spec';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-reporter=${reporter}`, '--test-concurrency=2', ...files],
  { stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' } },
);
process.exit(result.status ?? 1);
