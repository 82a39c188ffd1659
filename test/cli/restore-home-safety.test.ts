// What restore leaves on disk besides the data: file modes and mtimes, config
// files the backup does not hold, nothing in a target it refused, audit lines
// where they belong, safety backups that say what they are, and no backup of a
// home an interrupted restore left half swapped. Homes hold config only (no
// database engines), so every run is quick; the files differ in mode and mtime.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { runCli, tempDir, treeHashes } from '../helpers.js';

const dir = tempDir('aico-restore-home-');
const at = (...p: string[]) => path.join(dir, ...p);
const STATE = at('state');
const ENV = { XDG_STATE_HOME: STATE, DBUS_SESSION_BUS_ADDRESS: undefined, AICO_FAULT: undefined, AICO_MASTER_KEY: undefined, AICO_BACKUP_PASSWORD: undefined };
const PW = 'home-safety-pw';

/** home-relative path -> [mode, mtime (whole seconds, so any precision keeps it)] */
const FILES: Record<string, [number, string]> = {
  'config/runtime.yaml': [0o644, '2021-03-04T05:06:07.000Z'],
  'config/user_preferences.json': [0o640, '2022-01-02T03:04:05.000Z'],
  'config/models.yaml': [0o600, '2020-12-31T23:59:59.000Z'],
  'config/hooks/notify.sh': [0o755, '2023-06-07T08:09:10.000Z'],
  'config/secret.key': [0o644, '2023-06-07T08:09:11.000Z'],
};

/** A config-only home; `variant` changes every file's bytes. Modes are set after writing (the umask does not apply to chmod). */
async function makeHome(home: string, variant: string, modes = true): Promise<void> {
  for (const [rel, [mode, mtime]] of Object.entries(FILES)) {
    const file = path.join(home, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, `# ${rel} (${variant})\n`);
    if (modes) {
      await fs.chmod(file, mode);
      await fs.utimes(file, new Date(mtime), new Date(mtime));
    } else await fs.chmod(file, 0o600);
  }
}

const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { env: { ...ENV, ...env } });
const restoreArgs = (home: string, archive: string, ...extra: string[]) => ['--home', home, '--json', 'backup', 'restore', archive, ...extra];
const exists = (p: string) => fs.lstat(p).then(() => true, () => false);
const readAudit = async (file: string) => (await fs.readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

// One home, backed up plain (uncompressed, so a test can damage a file's bytes in place) and encrypted.
const HOME = at('home');
await makeHome(HOME, 'backed up');
const plain = await cli(['--home', HOME, '--json', 'backup', 'create', '--no-encrypt', '--no-compress', '--include', 'config', '-o', at('backups')]);
assert.equal(plain.code, 0, plain.stdout + plain.stderr);
const ARCHIVE: string = plain.json.backup.path;
const sealed = await cli(['--home', HOME, '--json', 'backup', 'create', '--include', 'config', '-o', at('backups-enc')], { AICO_BACKUP_PASSWORD: PW });
assert.equal(sealed.code, 0, sealed.stdout + sealed.stderr);
const SEALED: string = sealed.json.backup.path;

describe('restored files keep the mode and mtime the archive records', () => {
  test('into a new --target: every file as recorded, key material 0600, created directories 0700', async () => {
    const target = at('modes-new');
    const r = await cli(restoreArgs(HOME, ARCHIVE, '--target', target, '--no-safety-backup'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [rel, [mode, mtime]] of Object.entries(FILES)) {
      const st = await fs.stat(path.join(target, rel));
      const want = rel.endsWith('.key') ? 0o600 : mode;
      assert.equal((st.mode & 0o7777).toString(8), want.toString(8), `mode of ${rel}`);
      assert.equal(st.mtime.toISOString(), mtime, `mtime of ${rel}`);
    }
    for (const d of ['', 'config', 'config/hooks']) {
      assert.equal(((await fs.stat(path.join(target, d))).mode & 0o777).toString(8), '700', `directory ${d || '.'} the restore created`);
    }
  });

  test('in place over files with other modes and times: the recorded ones come back', async () => {
    const home = at('modes-in-place');
    await makeHome(home, 'current', false);
    const r = await cli(restoreArgs(home, ARCHIVE, '--no-safety-backup'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const [rel, [mode, mtime]] of Object.entries(FILES)) {
      const st = await fs.stat(path.join(home, rel));
      assert.equal((st.mode & 0o777).toString(8), (rel.endsWith('.key') ? 0o600 : mode).toString(8), `mode of ${rel}`);
      assert.equal(st.mtime.toISOString(), mtime, `mtime of ${rel}`);
    }
  });
});

describe('config restore keeps files the backup does not hold', () => {
  test('--config-only: a local config file survives, and the preview says it stays', async () => {
    const home = at('config-extra');
    await makeHome(home, 'current');
    await fs.writeFile(path.join(home, 'config', 'local-only.yaml'), 'mine: true\n');
    const preview = await cli(['--home', home, 'backup', 'restore', ARCHIVE, '--config-only', '--dry-run']);
    assert.equal(preview.code, 0, preview.stdout + preview.stderr);
    assert.match(preview.stdout, /config\s+replace.*keeps 1 file\(s\) the backup does not hold/);
    const r = await cli(restoreArgs(home, ARCHIVE, '--config-only', '--no-safety-backup'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.json.databases.map((d: any) => [d.name, d.action, d.skipped]), [['config', 'replace', ['config/local-only.yaml']]]);
    assert.equal(await fs.readFile(path.join(home, 'config', 'local-only.yaml'), 'utf8'), 'mine: true\n');
    assert.equal(await fs.readFile(path.join(home, 'config', 'runtime.yaml'), 'utf8'), '# config/runtime.yaml (backed up)\n');
  });
});

describe('a refused or failed restore writes nothing into its target', () => {
  /** A copy of the plain archive with one byte of runtime.yaml's content flipped: refused while staging. */
  async function damaged(): Promise<string> {
    const bytes = await fs.readFile(ARCHIVE);
    const at_ = bytes.indexOf('# config/runtime.yaml (backed up)');
    assert.ok(at_ > 0);
    bytes[at_ + 3]! ^= 0x20;
    const file = path.join(dir, 'damaged', path.basename(ARCHIVE));
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, bytes);
    return file;
  }

  test('a new --target that failed verification does not exist afterwards; the audit goes to the home; the retry works', async () => {
    const target = at('fresh', 'target');
    const home = at('audit-home');
    await makeHome(home, 'current');
    const r = await cli(restoreArgs(home, await damaged(), '--target', target));
    assert.equal(r.code, 4, r.stdout);
    assert.equal(await exists(at('fresh')), false, 'neither the target nor its parent was left behind');
    const audit = await readAudit(path.join(home, 'data', 'logs', 'backup-audit.log'));
    assert.equal(audit.at(-1).result, `failed: ${r.json.error.code}`);
    assert.equal(audit.at(-1).target, target);
    const retry = await cli(restoreArgs(home, ARCHIVE, '--target', target));
    assert.equal(retry.code, 0, retry.stdout);
  });

  test('an existing empty --target stays empty after a wrong password; the retry is not refused as "not empty"', async () => {
    const target = at('empty-target');
    await fs.mkdir(target);
    const wrong = await cli(restoreArgs(at('no-such-home'), SEALED, '--target', target), { AICO_BACKUP_PASSWORD: 'not it' });
    assert.equal(wrong.code, 3, wrong.stdout);
    assert.deepEqual(await fs.readdir(target), []);
    // No home to log into: the user's state directory.
    const audit = await readAudit(path.join(STATE, 'aico-backup', 'backup-audit.log'));
    assert.deepEqual([audit.at(-1).result, audit.at(-1).target], ['failed: WRONG_PASSWORD', target]);
    const retry = await cli(restoreArgs(at('no-such-home'), SEALED, '--target', target), { AICO_BACKUP_PASSWORD: PW });
    assert.equal(retry.code, 0, retry.stdout);
  });

  test('in place: a failed restore leaves the home byte for byte; its audit line goes to the state directory', async () => {
    const home = at('in-place-fail');
    await makeHome(home, 'current');
    const before = await treeHashes(home);
    const r = await cli(restoreArgs(home, await damaged()));
    assert.equal(r.code, 4, r.stdout);
    assert.deepEqual(await treeHashes(home), before);
    assert.equal(await exists(path.join(home, 'data')), false);
    const audit = await readAudit(path.join(STATE, 'aico-backup', 'backup-audit.log'));
    assert.deepEqual([audit.at(-1).result, audit.at(-1).target], [`failed: ${r.json.error.code}`, home]);
    assert.equal(((await fs.stat(path.join(STATE, 'aico-backup', 'backup-audit.log'))).mode & 0o777).toString(8), '600');
  });
});

describe('pre-restore safety backups say what they are', () => {
  test('list and info: purpose "pre-restore", the units it saved, the restore it was made for', async () => {
    const home = at('safety-home');
    await makeHome(home, 'current');
    const safetyDir = at('safety');
    // An ordinary backup in the same directory, to tell apart.
    const ordinary = await cli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '--include', 'config', '-o', safetyDir]);
    assert.equal(ordinary.code, 0, ordinary.stdout);
    const r = await cli(restoreArgs(home, ARCHIVE, '-o', safetyDir));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.json.safety_backup, /-pre-restore\.tar\.zst$/);

    const listed = await cli(['--json', 'backup', 'list', safetyDir]);
    const byPath = Object.fromEntries(listed.json.backups.map((b: any) => [b.path, b]));
    assert.equal(byPath[r.json.safety_backup].purpose, 'pre-restore');
    assert.deepEqual(byPath[r.json.safety_backup].sources, ['config']);
    assert.equal(byPath[ordinary.json.backup.path].purpose, 'backup');
    const human = await cli(['backup', 'list', safetyDir]);
    const line = human.stdout.split('\n').find((l) => l.includes(path.basename(r.json.safety_backup)))!;
    assert.match(line, /\ssafety\s/, human.stdout);

    const info = await cli(['--json', 'backup', 'info', r.json.safety_backup]);
    assert.equal(info.json.info.purpose, 'pre-restore');
    assert.equal(info.json.info.metadata.purpose, 'pre-restore');
    assert.deepEqual(info.json.info.metadata.pre_restore, { archive: ARCHIVE, archive_id: plain.json.backup.id, target: home, units: ['config'] });
    const infoText = await cli(['backup', 'info', r.json.safety_backup]);
    assert.match(infoText.stdout, /purpose\s+safety backup.*config of .*safety-home/);
  });

  test('an encrypted safety backup is labelled without the password (from its name)', async () => {
    const home = at('safety-enc-home');
    await makeHome(home, 'current');
    const r = await cli(restoreArgs(home, SEALED, '-o', at('safety-enc')), { AICO_BACKUP_PASSWORD: PW });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const listed = await cli(['--json', 'backup', 'list', at('safety-enc')]);
    assert.deepEqual(listed.json.backups.map((b: any) => [b.encrypted, b.purpose]), [[true, 'pre-restore']]);
  });
});

describe('a home an interrupted restore left half swapped', () => {
  test('create refuses it (HOME_INCOMPLETE, exit 13) and writes no archive; the hinted command recovers it', async () => {
    const home = at('half');
    await makeHome(home, 'current');
    const killed = await cli(restoreArgs(home, ARCHIVE, '--no-safety-backup'), { AICO_FAULT: 'swap:2' });
    assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    assert.equal(await exists(path.join(home, '.aico-restore.journal')), true);

    const out = at('half-backups');
    const c = await cli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '-o', out]);
    assert.equal(c.code, 13, c.stdout + c.stderr);
    assert.equal(c.json.error.code, 'HOME_INCOMPLETE');
    assert.match(c.json.error.message, /unfinished restore/);
    const command = `aico backup restore ${ARCHIVE} --home ${home}`;
    assert.ok(c.json.error.hint.includes(command), c.json.error.hint);
    assert.deepEqual(await fs.readdir(out).catch(() => []), [], 'no archive (or partial one) was written');

    // A preview must not recover it behind the user's back either.
    const dry = await cli(restoreArgs(home, ARCHIVE, '--dry-run'));
    assert.equal(dry.code, 13, dry.stdout);
    assert.equal(await exists(path.join(home, '.aico-restore.journal')), true);

    const rerun = await cli(command.split(' ').slice(1).concat('--json', '--no-safety-backup'));
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
    assert.ok(rerun.json.warnings.some((w: any) => w.code === 'RESTORE_RECOVERED'));
    const again = await cli(['--home', home, '--json', 'backup', 'create', '--no-encrypt', '-o', out]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
  });
});
