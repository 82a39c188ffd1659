// docs/JSON.md's code tables are the engine's tables: rendered from src/engine/codes.ts
// (UPDATE_DOCS=1 writes them), and the error table checked against ERROR_CODES.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ERROR_CODES, VERIFY_PROBLEM_CODES, WARNING_CODES } from '../../src/engine/index.js';
import { ROOT } from '../helpers.js';

const DOC = path.join(ROOT, 'docs', 'JSON.md');

const TABLES: Record<string, string[]> = {
  WARNING_CODES: [
    '| Warning code | From | Meaning |',
    '|---|---|---|',
    ...Object.entries(WARNING_CODES).map(([code, { from, meaning }]) => `| \`${code}\` | ${from} | ${meaning} |`),
  ],
  VERIFY_PROBLEM_CODES: ['| Problem code | Meaning |', '|---|---|', ...Object.entries(VERIFY_PROBLEM_CODES).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`)],
};

/** The lines between a table's markers. */
const markers = (name: string) => new RegExp(`(<!-- table: ${name} [^\\n]*-->\\n)([\\s\\S]*?)(\\n<!-- end table -->)`);

describe('docs/JSON.md lists the codes the engine has', () => {
  test('the warning and verify-problem tables are rendered from src/engine/codes.ts', async () => {
    let doc = await fs.readFile(DOC, 'utf8');
    for (const [name, lines] of Object.entries(TABLES)) {
      const m = markers(name).exec(doc);
      assert.ok(m, `docs/JSON.md has no markers for the ${name} table`);
      if (process.env.UPDATE_DOCS) doc = doc.replace(markers(name), `$1${lines.join('\n').replace(/\$/g, '$$$$')}$3`);
      else assert.equal(m[2], lines.join('\n'), `the ${name} table in docs/JSON.md is stale: run this test with UPDATE_DOCS=1`);
    }
    if (process.env.UPDATE_DOCS) await fs.writeFile(DOC, doc);
  });

  test('the error table has every code of ERROR_CODES with its exit code (and CANCELLED again for SIGTERM)', async () => {
    const doc = await fs.readFile(DOC, 'utf8');
    const section = doc.slice(doc.indexOf('### Error codes and exit codes'), doc.indexOf('## Events on stderr'));
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| \**(\d+)\** \|/gm)].map((m) => `${m[1]} ${m[2]}`);
    const expected = [...Object.entries(ERROR_CODES).map(([code, exit]) => `${code} ${exit}`), 'CANCELLED 143'];
    assert.deepEqual(rows.sort(), expected.sort());
  });
});
