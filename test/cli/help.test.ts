// Source names in --help: create's --include/--exclude and restore's --database name the same sources, from the engine's one table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SOURCE_NAMES } from '../../src/engine/index.js';
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
