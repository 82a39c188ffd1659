import assert from 'node:assert/strict';
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { create, seedFiles } from '../../../src/engine/index.js';
import { readManifest } from '../../../src/engine/archive/inspect.js';
import { ArchiveReader } from '../../../src/engine/archive/reader.js';
import { planPaths, stageArchive } from '../../../src/engine/restore/stage.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');

async function archive(): Promise<string> {
  await seedFiles({ home, sizeMb: 8, seed: 3 });
  const out = path.join(dir, 'out');
  const made = await create({ home, outputDir: out, encrypt: false, compression: 'none', compressionLevel: 3, include: ['models', 'cache', 'config'], exclude: [] });
  return made.backup.path;
}

/** Stages `file` and records, each time a unit is announced, which staged files were complete on disk then. */
async function stage(file: string, staging: string) {
  const reader = await ArchiveReader.open(file, null);
  const announced: { unit: string; complete: string[]; partial: string[] }[] = [];
  try {
    const manifest = await readManifest(reader);
    const plan = planPaths(manifest.manifest);
    await fs.mkdir(staging);
    const sizes = new Map(manifest.manifest.files.map((f) => [plan.get(f.path)!.homePath, f.size]));
    // Synchronous, so what it sees is the staging directory at the moment of the announcement.
    const onUnitStaged = (unit: string) => {
      const complete: string[] = [];
      const partial: string[] = [];
      for (const [homePath, size] of sizes) {
        const st = statSync(path.join(staging, homePath), { throwIfNoEntry: false });
        if (st) (st.size === size ? complete : partial).push(homePath);
      }
      announced.push({ unit, complete, partial });
    };
    const result = await stageArchive({ reader, manifest, staging, units: new Set(['models', 'cache', 'config']), plan, onUnitStaged }, {});
    return { announced, result, manifest: manifest.manifest, plan };
  } finally {
    await reader.close();
  }
}

test('each unit is announced once all its files are staged and checked, before the walk stages the next unit', async () => {
  const file = await archive();
  const { announced, manifest, plan } = await stage(file, path.join(dir, 'staging-ok'));
  const unitOf = (homePath: string) => homePath.split('/')[0]!;
  const order = [...new Set(manifest.files.map((f) => plan.get(f.path)!.unit))];
  assert.deepEqual([...order].sort(), ['cache', 'config', 'models']);
  // The last unit has nothing after it in the walk: it is left for the caller's finish().
  assert.deepEqual(announced.map((a) => a.unit), order.slice(0, -1));
  for (const a of announced) {
    const own = manifest.files.filter((f) => plan.get(f.path)!.unit === a.unit).map((f) => plan.get(f.path)!.homePath);
    for (const p of own) assert.ok(a.complete.includes(p), `${p} was whole on disk when ${a.unit} was announced`);
    const later = order.slice(order.indexOf(a.unit) + 1);
    assert.ok(
      [...a.complete, ...a.partial].every((p) => !later.includes(unitOf(p)) || a.partial.includes(p)),
      `no later unit was complete when ${a.unit} was announced: ${JSON.stringify(a)}`,
    );
  }
});

test('a unit whose bytes do not match their hashes is never announced, and staging fails with CHECKSUM_MISMATCH', async () => {
  const file = await archive();
  const bytes = await fs.readFile(file);
  const models = await fs.readFile(path.join(home, 'models', 'pages.db'));
  const at = bytes.indexOf(models.subarray(100_000, 100_064));
  assert.ok(at > 0, 'the plain archive holds the file bytes as they are');
  bytes[at + 10]! ^= 0xff;
  const tampered = path.join(dir, 'tampered.tar');
  await fs.writeFile(tampered, bytes);
  const announced: string[] = [];
  const staging = path.join(dir, 'staging-bad');
  const reader = await ArchiveReader.open(tampered, null);
  let order: string[] = [];
  try {
    const manifest = await readManifest(reader);
    const plan = planPaths(manifest.manifest);
    order = [...new Set(manifest.manifest.files.map((f) => plan.get(f.path)!.unit))];
    await fs.mkdir(staging);
    await assert.rejects(
      stageArchive({ reader, manifest, staging, units: new Set(order), plan, onUnitStaged: (u) => announced.push(u) }, {}),
      (e: any) => e.code === 'CHECKSUM_MISMATCH',
    );
  } finally {
    await reader.close();
  }
  assert.notEqual(order.indexOf('models'), order.length - 1, 'a unit follows the damaged one, so it would have been announced');
  assert.deepEqual(announced, order.slice(0, order.indexOf('models')), 'units before the damaged one are announced; it and the rest are not');
});
