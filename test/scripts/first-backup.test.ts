// npm run first-backup on a machine without an AICO home: it seeds a sample, backs it up, verifies and lists it.
// What it prints is for a person: no JSON lines, and a closing hint that works on a terminal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, tempDir } from '../helpers.js';

function run(cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(cwd, 'scripts', 'first-backup.sh')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('scripts/first-backup.sh', { timeout: 180_000 }, () => {
  test('without an AICO home: human lines only, an archive in .sample/backups, a hint without --password-stdin', async () => {
    assert.ok(existsSync(path.join(ROOT, 'dist', 'cli.js')), 'dist/ is missing: build first');
    // A copy of the checkout's layout, so .sample/ is written here and not in the checkout.
    const root = tempDir('aico-first-');
    await fs.mkdir(path.join(root, 'scripts'));
    await fs.copyFile(path.join(ROOT, 'scripts', 'first-backup.sh'), path.join(root, 'scripts', 'first-backup.sh'));
    await fs.symlink(path.join(ROOT, 'bin'), path.join(root, 'bin'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(root, 'user'), AICO_SAMPLE_MB: '4' };
    for (const k of ['AICO_HOME', 'XDG_DATA_HOME', 'AICO_BACKUP_PASSWORD', 'AICO_MASTER_KEY', 'DBUS_SESSION_BUS_ADDRESS']) delete env[k];

    const { code, output } = await run(root, env);
    assert.equal(code, 0, output);
    const json = output.split('\n').filter((l) => /^\s*[{[]/.test(l));
    assert.deepEqual(json, [], `JSON lines in the output:\n${output}`);
    const archives = (await fs.readdir(path.join(root, '.sample', 'backups'))).filter((f) => /^aico-backup-\d{8}-\d{6}\.tar\.zst\.enc$/.test(f));
    assert.equal(archives.length, 1, output);
    assert.ok(output.includes(archives[0]!), `the output names the archive:\n${output}`);
    assert.doesNotMatch(output, /--password-stdin/);
    assert.match(output, /sample-password/);
  });
});
