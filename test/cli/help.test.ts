// The tables --help is built from are the engine's: source names, exit codes, option choices.
// Source names in --help: create's --include/--exclude and restore's --database name the same sources, from the engine's one table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CODEC_NAMES, EXIT_CODES, SOURCE_NAMES, WORKING_STORES } from '../../src/engine/index.js';
import { runCli } from '../helpers.js';

/** The names an option's help lists after "comma-separated:", with the help's line wrapping undone. */
async function listedNames(command: string, option: string): Promise<string[]> {
  const r = await runCli(['backup', command, '--help']);
  assert.equal(r.code, 0, r.stderr);
  const flat = r.stdout.replace(/\s+/g, ' ');
  const m = new RegExp(`${option} <list> [^(]*\\(comma-separated: ([^)]*)\\)`).exec(flat);
  assert.ok(m, `no list of names for ${option} in "backup ${command} --help":\n${r.stdout}`);
  return m[1]!.split(/[\s,]+/).filter(Boolean);
}

describe('--help lists the source names', () => {
  test('create --include, create --exclude and restore --database list the same names: every name the engine accepts', async () => {
    const expected = [...SOURCE_NAMES];
    assert.deepEqual(await listedNames('create', '--include'), expected);
    assert.deepEqual(await listedNames('create', '--exclude'), expected);
    assert.deepEqual(await listedNames('restore', '--database'), expected);
  });
});

/** The quoted choices commander lists for an option, with the help's line wrapping undone. */
async function choices(args: string[], option: string): Promise<string[]> {
  const r = await runCli([...args, '--help']);
  assert.equal(r.code, 0, r.stderr);
  const m = new RegExp(`${option} <\\w+>[^(]*\\(choices: ([^)]*?)(?:, default: [^)]*)?\\)`).exec(r.stdout.replace(/\s+/g, ' '));
  assert.ok(m, `no choices for ${option}:\n${r.stdout}`);
  return [...m[1]!.matchAll(/"([^"]*)"/g)].map((c) => c[1]!);
}

describe('--help takes exit codes and choices from the engine', () => {
  test('"backup --help" lists every exit status of EXIT_CODES with its meaning, each line within 80 columns', async () => {
    const r = await runCli(['backup', '--help']);
    assert.equal(r.code, 0, r.stderr);
    const listed = r.stdout.slice(r.stdout.indexOf('Exit codes:')).split('\n').slice(1).filter((l) => /^ {2}\d/.test(l));
    assert.deepEqual(
      listed.map((l) => l.trim().split(/\s+(.*)/).slice(0, 2)),
      Object.entries(EXIT_CODES).map(([code, meaning]) => [code, meaning]),
    );
    assert.deepEqual(listed.filter((l) => l.length > 80), []);
    assert.ok(listed.some((l) => /^ {2}13 /.test(l)) && listed.some((l) => /^ {2}143 /.test(l)), 'HOME_INCOMPLETE (13) and SIGTERM (143) are listed');
  });

  test('create --compression offers the codecs the engine has; demo seed --working its working-memory stores', async () => {
    assert.deepEqual(await choices(['backup', 'create'], '--compression'), [...CODEC_NAMES]);
    assert.deepEqual(await choices(['demo', 'seed'], '--working'), [...WORKING_STORES]);
  });

  test('a value outside those choices is a usage error (exit 2) naming them', async () => {
    const r = await runCli(['--json', 'demo', 'seed', '--working', 'leveldb']);
    assert.equal(r.code, 2);
    const err = (r.json as { error: { code: string; message: string } }).error;
    assert.equal(err.code, 'USAGE');
    assert.match(err.message, /leveldb.*lmdb, rocksdb/);
  });
});
