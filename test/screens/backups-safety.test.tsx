// The backups screen labels a restore's safety backup: the list comes from the
// real engine (a real create, a real restore that writes a pre-restore backup,
// a real list of that directory); only the screen's engine calls are faked.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { create } from '../../src/engine/ops/create.js';
import { list } from '../../src/engine/ops/list.js';
import { restore } from '../../src/engine/ops/restore.js';
import { tempDir } from '../helpers.js';
import { FakeEngine } from '../ui/fake-engine.js';
import { cleanup, renderApp } from '../ui/harness.js';

afterEach(cleanup);

const rows = (frame: string) => frame.split('\n').filter((l) => /^[> ] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(l));

describe('backups screen: safety backups', () => {
  test('a pre-restore backup shows "safety" in the Type column, an ordinary one "full"', async () => {
    const dir = tempDir('aico-tui-safety-');
    const home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, 'config'), { recursive: true });
    await fs.writeFile(path.join(home, 'config', 'runtime.yaml'), 'runtime:\n  log_level: info\n');
    const env = { ...process.env, XDG_STATE_HOME: path.join(dir, 'state') };
    const made = await create({ home, outputDir: path.join(dir, 'backups'), encrypt: false, compression: 'zstd', compressionLevel: 3, include: ['config'], exclude: [], env,
      // An earlier second than the safety backup's, so the two rows are told apart by time.
      now: new Date('2026-01-01T00:00:00Z'),
    });
    await fs.writeFile(path.join(home, 'config', 'runtime.yaml'), 'runtime:\n  log_level: debug\n');
    const r = await restore({ path: made.backup.path, home, safetyBackupDir: path.join(dir, 'backups'), env });
    assert.ok(r.safetyBackup, 'the restore wrote a safety backup');
    const listed = await list({ dir: path.join(dir, 'backups') });
    assert.equal(listed.backups.length, 2);

    const fake = new FakeEngine();
    fake.backups = listed.backups;
    const ui = renderApp(fake);
    const f = await ui.waitFor('(2)');
    assert.match(f, /Created\s+Type\s+Size/);
    const byName = (name: string) => rows(f).find((l) => l.includes(listed.backups.find((b) => b.name === name)!.created!.replace('T', ' ').slice(0, 19)))!;
    assert.match(byName(path.basename(r.safetyBackup!)), /\d\d {2}safety {2}/, f);
    assert.match(byName(path.basename(made.backup.path)), /\d\d {2}full {4}/, f);
  });
});
