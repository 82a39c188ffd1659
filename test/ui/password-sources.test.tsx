// The TUI takes the backup password from where the CLI takes it (--password-file, $AICO_BACKUP_PASSWORD,
// the stored one, in that order) and asks only when none gives one; then it says the key is being derived.
import { KEY, cleanup, renderApp, type Ui } from './harness.js';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { FakeEngine, HOME, SETTINGS, backupEntry } from './fake-engine.js';

afterEach(cleanup);

const PASSWORD = 'correct horse 42!';
const enc = backupEntry(0, { encrypted: true });
const dir = await fs.mkdtemp(path.join(tmpdir(), 'aico-tui-pw-'));
after(() => fs.rm(dir, { recursive: true, force: true }));

function engine(): FakeEngine {
  const fake = new FakeEngine();
  fake.backups = [enc];
  fake.passwords.set(enc.path, PASSWORD);
  return fake;
}

const prompted = (ui: Ui) => ui.allFrames().some((f) => /^Password:/m.test(f));

async function passwordFile(content: string): Promise<string> {
  const file = path.join(dir, `pw-${Math.random().toString(36).slice(2)}`);
  await fs.writeFile(file, content, { mode: 0o600 });
  return file;
}

describe('TUI password sources, as the CLI has them', () => {
  test('$AICO_BACKUP_PASSWORD: info opens without a prompt', async () => {
    const fake = engine();
    fake.env = { AICO_BACKUP_PASSWORD: PASSWORD };
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    await ui.waitFor('Contents');
    assert.equal(prompted(ui), false, 'no password prompt was shown');
    assert.deepEqual(fake.passwordsSeen, [PASSWORD]);
  });

  test('a stored password ("aico backup password set"): verify runs without a prompt', async () => {
    const fake = engine();
    fake.storedPassword = PASSWORD;
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press('v');
    await ui.waitFor('OK: every segment authenticated');
    assert.equal(prompted(ui), false);
    assert.deepEqual(fake.passwordsSeen, [PASSWORD]);
    assert.deepEqual(fake.callsOf('givenPassword'), [{ file: undefined, stored: true }], 'asked for the stored one too, like the CLI for verify');
  });

  test('--password-file (its trailing newline is not part of it) comes first, then the variable, then the stored one', async () => {
    const fake = engine();
    fake.env = { AICO_BACKUP_PASSWORD: 'from the variable' };
    fake.storedPassword = 'stored';
    const ui = renderApp(fake, { settings: { ...SETTINGS, passwordFile: await passwordFile(`${PASSWORD}\n`) } });
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    await ui.waitFor('Contents');
    assert.equal(prompted(ui), false);
    assert.deepEqual(fake.passwordsSeen, [PASSWORD]);

    const second = engine();
    second.env = { AICO_BACKUP_PASSWORD: PASSWORD };
    second.storedPassword = 'stored';
    const ui2 = renderApp(second);
    await ui2.waitFor('(1)');
    await ui2.press(KEY.enter);
    await ui2.waitFor('Contents');
    assert.deepEqual(second.passwordsSeen, [PASSWORD], 'the variable before the stored password');
  });

  test('no source: asked, as before', async () => {
    const fake = engine();
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    await ui.waitFor(/^Password: /m);
    assert.deepEqual(fake.callsOf('info'), []);
  });

  test('a given password the backup refuses: WRONG_PASSWORD; next time it is asked for, saying which one was wrong', async () => {
    const fake = engine();
    fake.env = { AICO_BACKUP_PASSWORD: 'an old password' };
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    await ui.waitFor('Error (WRONG_PASSWORD)');
    assert.equal(prompted(ui), false);
    await ui.press('q');
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    const f = await ui.waitFor(/^Password: /m);
    assert.match(f, /The password from \$AICO_BACKUP_PASSWORD does not open this backup\./);
    await ui.type(PASSWORD);
    await ui.press(KEY.enter);
    await ui.waitFor('Contents');
    assert.deepEqual(fake.passwordsSeen, ['an old password', PASSWORD]);
  });

  test('an unreadable --password-file is shown, and the password can still be typed', async () => {
    const fake = engine();
    const ui = renderApp(fake, { settings: { ...SETTINGS, passwordFile: path.join(dir, 'missing') } });
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    const f = await ui.waitFor(/^Password: /m);
    assert.match(f, /Error \(USAGE\)/);
    assert.match(f, /Cannot read the password file .*missing/);
    await ui.type(PASSWORD);
    await ui.press(KEY.enter);
    await ui.waitFor('Contents');
  });

  test('create with $AICO_BACKUP_PASSWORD: the form says where the password comes from, Enter starts without prompts', async () => {
    const fake = engine();
    fake.env = { AICO_BACKUP_PASSWORD: PASSWORD };
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press('c');
    const form = await ui.waitFor((f) => f.includes(`New backup of ${HOME}`) && f.includes('] temp') && f.includes('password from'));
    assert.match(form, /Encryption\s+\[x\] AES-256-GCM, password from \$AICO_BACKUP_PASSWORD/);
    await ui.press(KEY.enter);
    await ui.waitFor('Saved ');
    assert.equal(prompted(ui), false);
    assert.deepEqual(fake.passwordsSeen, [PASSWORD]);
  });
});

describe('deriving the key is shown', () => {
  test('info, verify and create show "Deriving the key…" while the key is derived, and not after', async () => {
    const fake = engine();
    fake.storedPassword = PASSWORD;
    fake.kdfMs = 400;
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    await ui.waitFor('Deriving the key…');
    assert.doesNotMatch(await ui.waitFor('Contents'), /Deriving the key/);

    await ui.press('q');
    await ui.waitFor('(1)');
    await ui.press('v');
    const deriving = await ui.waitFor('Deriving the key…');
    assert.match(deriving, /Checking the header/, 'under the phase it belongs to');
    assert.doesNotMatch(await ui.waitFor('OK: every segment'), /Deriving the key/);

    await ui.press('q');
    await ui.waitFor('(1)');
    await ui.press('c');
    await ui.waitFor((f) => f.includes('] temp') && f.includes('password from'));
    await ui.press(KEY.enter);
    await ui.waitFor('Deriving the key…');
    assert.doesNotMatch(await ui.waitFor('Saved '), /Deriving the key/);
  });

  test('restore shows "Deriving the key…" while it reads the backup, and not after', async () => {
    const fake = engine();
    fake.storedPassword = PASSWORD;
    fake.kdfMs = 400;
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press('r');
    await ui.waitFor('Deriving the key…');
    assert.doesNotMatch(await ui.waitFor((f) => f.includes('libsql') && !f.includes('Reading the backup')), /Deriving the key/);
  });
});
