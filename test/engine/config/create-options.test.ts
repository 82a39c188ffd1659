import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { create, createOptionsFrom, loadConfig, outputDirFrom, selectedSources, type BackupConfig } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();
const home = path.join(dir, 'home');
let defaults: BackupConfig;
let custom: BackupConfig;

before(async () => {
  await fs.mkdir(path.join(home, 'config'), { recursive: true });
  defaults = (await loadConfig(home)).backup;
  await fs.writeFile(
    path.join(home, 'config', 'core.yaml'),
    'backup:\n  encrypt: false\n  compression: gzip\n  compression_level: 6\n  output_dir: "~/aico-elsewhere"\n  include: [libsql, config, models]\n  exclude: [models]\n',
  );
  custom = (await loadConfig(home)).backup;
});

describe('createOptionsFrom: configuration + flags -> create options', () => {
  test('no flags: the shipped defaults, output_dir made absolute with ~ expanded', () => {
    const { options, warnings } = createOptionsFrom(defaults, {}, { home });
    assert.deepEqual(options, {
      home,
      outputDir: path.join(homedir(), 'backups', 'aico'),
      encrypt: true,
      compression: 'zstd',
      compressionLevel: 3,
      include: ['libsql', 'chromadb', 'lmdb', 'rocksdb', 'config'],
      exclude: ['models', 'cache', 'temp'],
      maxChain: 14,
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual(selectedSources(options), ['libsql', 'chromadb', 'working', 'config']);
  });

  test('a home core.yaml overrides the defaults; flags override both', () => {
    const fromConfig = createOptionsFrom(custom, {}, { home }).options;
    assert.deepEqual(
      [fromConfig.encrypt, fromConfig.compression, fromConfig.compressionLevel, fromConfig.outputDir, selectedSources(fromConfig)],
      [false, 'gzip', 6, path.join(homedir(), 'aico-elsewhere'), ['libsql', 'config']],
    );
    const flagged = createOptionsFrom(custom, { encrypt: true, compression: 'zstd', compressionLevel: '9', output: 'rel/out', allowLive: true }, { home }).options;
    assert.deepEqual(
      [flagged.encrypt, flagged.compression, flagged.compressionLevel, flagged.outputDir, flagged.allowLive],
      [true, 'zstd', 9, path.resolve('rel/out'), true],
    );
  });

  test('include given alone drops the configured exclude list; as a comma list or an array', () => {
    const a = createOptionsFrom(custom, { include: 'models, cache' }, { home }).options;
    const b = createOptionsFrom(custom, { include: ['models', 'cache'] }, { home }).options;
    assert.deepEqual([a.include, a.exclude], [['models', 'cache'], []]);
    assert.deepEqual(b, a);
    assert.deepEqual(selectedSources(a), ['models', 'cache']);
    const both = createOptionsFrom(custom, { include: 'models,cache', exclude: 'cache' }, { home }).options;
    assert.deepEqual(selectedSources(both), ['models']);
  });

  test('--no-compress is compression none; with another --compression it is refused', () => {
    assert.equal(createOptionsFrom(custom, { compress: false }, { home }).options.compression, 'none');
    assert.equal(createOptionsFrom(custom, { compress: false, compression: 'none' }, { home }).options.compression, 'none');
    assert.throws(() => createOptionsFrom(custom, { compress: false, compression: 'lz4' }, { home }), (e: any) => e.code === 'USAGE' && /contradict/.test(e.message));
    assert.throws(() => createOptionsFrom(custom, { compression: 'brotli' }, { home }), (e: any) => e.code === 'USAGE' && /Unknown compression "brotli"/.test(e.message));
  });

  test('the level must be 1..9; for lz4 and none a given level is ignored with LEVEL_IGNORED', () => {
    for (const bad of ['0', '10', '2.5', 'x', '']) {
      assert.throws(() => createOptionsFrom(custom, { compressionLevel: bad }, { home }), (e: any) => e.code === 'USAGE' && e.message.includes(`(got "${bad}")`), bad);
    }
    for (const codec of ['lz4', 'none']) {
      const { options, warnings } = createOptionsFrom(custom, { compression: codec, compressionLevel: 2 }, { home });
      assert.equal(options.compressionLevel, 2);
      assert.deepEqual(warnings, [{ code: 'LEVEL_IGNORED', message: `${codec} has a single level; the compression level is ignored.` }]);
    }
    assert.deepEqual(createOptionsFrom(custom, { compression: 'lz4' }, { home }).warnings, [], 'no level given, nothing ignored');
  });

  test('outputDirFrom: the flag, else output_dir; ~ expanded', () => {
    assert.equal(outputDirFrom(custom), path.join(homedir(), 'aico-elsewhere'));
    assert.equal(outputDirFrom(custom, '~/x'), path.join(homedir(), 'x'));
    assert.equal(outputDirFrom(custom, '/abs/y'), '/abs/y');
  });

  test('type and parent are passed on; an incremental on a parent that does not exist is refused with NO_PARENT, nothing written', async () => {
    const out = path.join(dir, 'never');
    const { options } = createOptionsFrom(custom, { type: 'incremental', parent: 'aico-backup-20260101-000000.tar', output: out }, { home });
    assert.deepEqual([options.backupType, options.parent], ['incremental', 'aico-backup-20260101-000000.tar']);
    assert.equal(createOptionsFrom(custom, {}, { home }).options.backupType, undefined, 'left to create: full');
    await assert.rejects(create(options), (e: any) => e.code === 'NO_PARENT' && /No backup "aico-backup-20260101-000000.tar"/.test(e.message));
    await assert.rejects(fs.stat(out), { code: 'ENOENT' });
  });
});
