import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { create, deriveLibsqlKey, seedSample } from '../../../src/engine/index.js';
import { DATABASE_ADAPTERS } from '../../../src/engine/sources/adapters.js';
import type { Metadata } from '../../../src/engine/archive/metadata.js';
import { tempDir } from '../../helpers.js';

/**
 * The design's disaster drill at the source level: back up a seeded home built
 * with the real engines, wipe it, extract the archive with the system tools,
 * and open every database with its own engine: counts equal the metadata.
 */
for (const working of ['lmdb', 'rocksdb'] as const) {
  describe(`seeded home with ${working}: backup, wipe, extract, validate`, () => {
    test('every database validates and its counts equal metadata.json', async () => {
      const dir = tempDir();
      const home = path.join(dir, 'home');
      const seeded = await seedSample({ home, sizeMb: 6, seed: 5, working });
      const result = await create(
        {
          home,
          outputDir: path.join(dir, 'out'),
          encrypt: false,
          compression: 'zstd',
          compressionLevel: 3,
          include: ['libsql', 'chromadb', 'working', 'config'],
          exclude: [],
          env: { AICO_MASTER_KEY: seeded.masterKey, DBUS_SESSION_BUS_ADDRESS: undefined },
        },
        {},
      );
      assert.deepEqual(Object.keys(result.backup.sources).sort(), ['chromadb', 'config', 'libsql', working].sort());
      for (const s of Object.values(result.backup.sources)) assert.equal(s.consistent, true);
      await fs.rm(home, { recursive: true });

      const restored = path.join(dir, 'restored');
      await fs.mkdir(restored);
      execFileSync('bash', ['-c', `zstd -dc "$1" | tar -x -C "$2"`, 'x', result.backup.path, restored]);
      const metadata = JSON.parse(await fs.readFile(path.join(restored, 'metadata.json'), 'utf8')) as Metadata;
      const salt = await fs.readFile(path.join(restored, 'databases', 'aico.db.salt'));
      const libsqlKey = await deriveLibsqlKey(Buffer.from(seeded.masterKey), salt);
      const locations: Record<string, string> = {
        libsql: path.join(restored, 'databases', 'aico.db'),
        chromadb: path.join(restored, 'databases', 'semantic'),
        [working]: path.join(restored, 'databases', 'working'),
      };
      for (const [name, location] of Object.entries(locations)) {
        const adapter = [...DATABASE_ADAPTERS.libsql!, ...DATABASE_ADAPTERS.chromadb!, ...DATABASE_ADAPTERS.working!].find((a) => a.name === name)!;
        const v = await adapter.validate(location, { libsqlKey });
        assert.equal(v.ok, true, `${name}: ${v.problems.join('; ')}`);
        const recorded = metadata.databases[name]!;
        if (name === 'libsql') assert.deepEqual(v.counts.tables, recorded.tables);
        if (name === 'chromadb') assert.deepEqual(v.counts.collections, recorded.collections);
        if (name === working) assert.equal(v.counts.entries, recorded.entries);
      }
      // And the counts are the seeder's own, not just self-consistent.
      assert.deepEqual(metadata.databases.libsql!.tables, seeded.databases.libsql!.tables);
      assert.deepEqual(metadata.databases.chromadb!.collections, seeded.databases.chromadb!.collections);
      if (working === 'lmdb') assert.equal(metadata.databases.lmdb!.entries, seeded.databases.lmdb!.entries);
      assert.equal(metadata.databases.libsql!.kdf_iterations, 100000);
    });
  });
}
