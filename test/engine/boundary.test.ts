import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers.js';

const SRC = path.join(ROOT, 'src');
const rel = (p: string) => path.relative(ROOT, p);

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (/\.tsx?$/.test(e.name)) out.push(p);
  }
  return out;
}

interface Import {
  spec: string;
  /** Absolute path (with the .js the source writes) for a relative import, else null. */
  target: string | null;
}

/** Static imports, `import type`, re-exports and dynamic `import()`: each one can cross a boundary. */
async function importsOf(file: string): Promise<Import[]> {
  const text = await fs.readFile(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\1/g)) {
    const spec = m[2]!;
    out.push({ spec, target: spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : null });
  }
  return out;
}

const under = (target: string | null, dir: string) => target !== null && (target === dir || target.startsWith(dir + path.sep));

test('the import scanner sees every form of import (else the rules below would pass on nothing)', async () => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'aico-boundary-probe-'));
  try {
    const file = path.join(dir, 'probe.ts');
    await fs.writeFile(file, [
      "import a from './a.js';",
      "import type { B } from './b.js';",
      "import './c.js';",
      "export * from './d.js';",
      "const e = await import('./e.js');",
      "import {\n  f,\n} from './f.js';",
    ].join('\n'));
    assert.deepEqual((await importsOf(file)).map((i) => i.spec), ['./a.js', './b.js', './c.js', './d.js', './e.js', './f.js']);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('src/engine imports neither ink, react, src/ui, src/screens nor the CLI', async () => {
  const offenders: string[] = [];
  const outside = ['ui', 'screens', 'cli'].map((d) => path.join(SRC, d));
  for (const file of await sources(path.join(SRC, 'engine'))) {
    for (const { spec, target } of await importsOf(file)) {
      const ui = /^(ink|react)(\/|$)|^ink-/.test(spec);
      const app = outside.some((d) => under(target, d)) || target === path.join(SRC, 'cli.js') || target === path.join(SRC, 'tui.js');
      if (ui || app) offenders.push(`${rel(file)} -> ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('the CLI and the TUI (src/cli, src/ui, src/screens, src/cli.ts, src/tui.tsx) reach the engine only through src/engine/index.ts', async () => {
  const files = [
    ...(await sources(path.join(SRC, 'cli'))),
    ...(await sources(path.join(SRC, 'ui'))),
    ...(await sources(path.join(SRC, 'screens'))),
    path.join(SRC, 'cli.ts'),
    path.join(SRC, 'tui.tsx'),
  ];
  const engine = path.join(SRC, 'engine');
  const door = path.join(engine, 'index.js');
  const offenders: string[] = [];
  let throughDoor = 0;
  for (const file of files) {
    for (const { spec, target } of await importsOf(file)) {
      if (!under(target, engine)) continue;
      if (target === door) throughDoor++;
      else offenders.push(`${rel(file)} -> ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
  assert.ok(throughDoor > 0, 'no import of src/engine/index.js found: the scan is not looking at the right files');
});

/**
 * Known exceptions, each removed by the change named with it. A listed import
 * that no longer exists fails the test too, so the list cannot go stale.
 */
const LOWER_LAYER_EXCEPTIONS = new Map<string, string>([]);

test('src/engine/archive and src/engine/restore never import src/engine/ops (operations sit on top of them)', async () => {
  const ops = path.join(SRC, 'engine', 'ops');
  const found: string[] = [];
  for (const layer of ['archive', 'restore']) {
    for (const file of await sources(path.join(SRC, 'engine', layer))) {
      for (const { spec, target } of await importsOf(file)) if (under(target, ops)) found.push(`${rel(file)} -> ${spec}`);
    }
  }
  assert.deepEqual(found.filter((f) => !LOWER_LAYER_EXCEPTIONS.has(f)), []);
  const gone = [...LOWER_LAYER_EXCEPTIONS.keys()].filter((k) => !found.includes(k));
  assert.deepEqual(gone, [], 'these exceptions no longer occur: remove them from LOWER_LAYER_EXCEPTIONS');
});
