// A password and its Enter in one read: a paste, tmux send-keys, fast typing over SSH.
// Ink hands such a chunk to the input as one "keypress" ("secret\r"), not as a return key.
import { KEY, cleanup, renderApp } from './harness.js';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { FakeEngine, HOME, backupEntry } from './fake-engine.js';

afterEach(cleanup);

const PASSWORD = 'Tr0ub4dor&3';
const enc = backupEntry(0, { encrypted: true });


/** The create form submitted, its first password prompt showing. */
async function atCreatePassword() {
  const fake = new FakeEngine();
  fake.backups = [enc];
  const ui = renderApp(fake);
  await ui.waitFor('(1)');
  await ui.press('c');
  await ui.waitFor((fr) => fr.includes(`New backup of ${HOME}`) && fr.includes('] temp'));
  await ui.press(KEY.enter);
  await ui.waitFor(/^Password:/m);
  return { fake, ui };
}

describe('text input: text and Enter in one chunk', () => {
  test('the password gate submits the pasted password, exactly once, and shows the backup', async () => {
    const fake = new FakeEngine();
    fake.backups = [enc];
    fake.passwords.set(enc.path, PASSWORD);
    const ui = renderApp(fake);
    await ui.waitFor('(1)');
    await ui.press(KEY.enter);
    await ui.waitFor('Password: ');
    ui.stdin.write(`${PASSWORD}\r`);
    const f = await ui.waitFor((fr) => fr.includes('Contents') || fr.includes('Error ('));
    assert.ok(f.includes('Contents'), f);
    assert.deepEqual(fake.passwordsSeen, [PASSWORD]);
  });

  test('the create prompts accept a pasted password twice (no "passwords differ")', async () => {
    const { fake, ui } = await atCreatePassword();
    ui.stdin.write('same-Secret\r');
    await ui.waitFor(/^Repeat:/m);
    ui.stdin.write('same-Secret\n');
    const f = await ui.waitFor((fr) => fr.includes('Saved ') || fr.includes('differ'));
    assert.ok(f.includes('Saved '), f);
    assert.deepEqual(fake.passwordsSeen, ['same-Secret']);
  });

  test('text typed after a submitting chunk does not leak into the next prompt', async () => {
    const { fake, ui } = await atCreatePassword();
    ui.stdin.write('abc\rdef');
    await ui.waitFor(/^Repeat:/m);
    await ui.settle();
    assert.match(ui.frame(), /^Repeat: {3}(?!\*)/m, 'the second prompt starts empty');
  });

  test('an Enter the screen refuses (empty first password) leaves the prompt working', async () => {
    const { fake, ui } = await atCreatePassword();
    await ui.press(KEY.enter);
    await ui.type('abc');
    await ui.waitFor('Password: ***');
    await ui.press(KEY.enter);
    await ui.waitFor(/^Repeat:/m);
  });

  test('a second Enter right behind the first starts one create, not two', async () => {
    const { fake, ui } = await atCreatePassword();
    ui.stdin.write('same-Secret\r');
    await ui.waitFor(/^Repeat:/m);
    ui.stdin.write('same-Secret\r');
    ui.stdin.write('\r');
    await ui.waitFor('Saved ');
    assert.equal(fake.callsOf('create').length, 1);
  });
});
