// Restore's journal on top of the generic swap: a journal written before the
// swap was generic (old copies in "old", staging apart, entries marked
// "staged") is still recovered, and still named in HOME_INCOMPLETE's hint.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isAicoError } from '../../../src/engine/errors.js';
import { JOURNAL_NAME, recoverInterrupted, refuseIncompleteHome } from '../../../src/engine/restore/journal.js';
import { tempDir, treeHashes } from '../../helpers.js';

/** A home killed after its config file was moved aside and the staged one renamed in, journaled the old way. */
async function halfSwapped(home: string): Promise<void> {
  const write = async (rel: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(home, rel)), { recursive: true });
    await fs.writeFile(path.join(home, rel), text);
  };
  await write('config/runtime.yaml', 'restored: true\n');
  await write('.aico-restore.4242.old/config/runtime.yaml', 'old: true\n');
  await write('.aico-restore.4242.partial/models/m.bin', 'restored model');
  await write('models/m.bin', 'old model');
  const journal = {
    pid: 4242,
    state: 'swapping',
    old: '.aico-restore.4242.old',
    staging: '.aico-restore.4242.partial',
    entries: [
      { path: 'config/runtime.yaml', existed: true, staged: true },
      { path: 'models', existed: true, staged: true },
    ],
    restoring: { archive: '/backups/aico-backup-20261129-031500.tar.zst', units: ['config', 'models'], inPlace: true },
  };
  await fs.writeFile(path.join(home, JOURNAL_NAME), JSON.stringify(journal));
}

test('a journal in the format before the generic swap: refused with its command, then rolled back', async () => {
  const home = path.join(tempDir('aico-legacy-journal-'), 'home');
  await halfSwapped(home);
  await assert.rejects(refuseIncompleteHome(home), (e) => {
    assert.ok(isAicoError(e, 'HOME_INCOMPLETE'));
    assert.match(e.hint ?? '', new RegExp(`aico backup restore /backups/aico-backup-20261129-031500\\.tar\\.zst --home ${home} --database config,models`));
    return true;
  });
  assert.equal(await recoverInterrupted(home), 'rolled-back');
  const files = Object.keys(await treeHashes(home)).sort();
  assert.deepEqual(files, ['config/runtime.yaml', 'models/m.bin'], 'no old copies, staging or journal left');
  assert.equal(await fs.readFile(path.join(home, 'config', 'runtime.yaml'), 'utf8'), 'old: true\n');
  assert.equal(await fs.readFile(path.join(home, 'models', 'm.bin'), 'utf8'), 'old model');
  await refuseIncompleteHome(home);
});
