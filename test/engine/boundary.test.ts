import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers.js';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (/\.tsx?$/.test(e.name)) out.push(p);
  }
  return out;
}

test('src/engine imports neither ink, react, src/ui, src/screens nor the CLI', async () => {
  const offenders: string[] = [];
  for (const file of await sources(path.join(ROOT, 'src', 'engine'))) {
    const text = await fs.readFile(file, 'utf8');
    for (const m of text.matchAll(/from\s+['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (/^(ink|react)(\/|$)|^ink-/.test(spec) || /\/(ui|screens|cli)\//.test(spec) || /\.\.\/cli/.test(spec)) offenders.push(`${path.relative(ROOT, file)} -> ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('the CLI reaches the engine only through src/engine/index.ts', async () => {
  const offenders: string[] = [];
  for (const file of await sources(path.join(ROOT, 'src', 'cli'))) {
    const text = await fs.readFile(file, 'utf8');
    for (const m of text.matchAll(/from\s+['"]([^'"]*engine\/[^'"]+)['"]/g)) if (!m[1]!.endsWith('engine/index.js')) offenders.push(`${file}: ${m[1]}`);
  }
  assert.deepEqual(offenders, []);
});
