// The key legend at 80 columns: every hint is shown whole on every screen (it used to end in "? hel…").
import { KEY, cleanup, renderApp, type Ui } from './harness.js';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { FakeEngine, HOME, backupEntry } from './fake-engine.js';

afterEach(cleanup);

/** The legend: the lines from the last blank line to the end of the frame. */
const legend = (f: string) => {
  const lines = f.replace(/\n+$/, '').split('\n');
  const blank = lines.findLastIndex((l) => l.trim() === '');
  return lines.slice(blank + 1);
};

function assertLegend(f: string, hints: string[]): void {
  const lines = legend(f);
  for (const l of f.split('\n')) assert.ok([...l].length <= 80, `a line wider than 80 columns:\n${l}`);
  assert.ok(!f.includes('…'), `a truncated legend:\n${f}`);
  const text = lines.join('\n');
  for (const h of hints) assert.ok(lines.some((l) => l.includes(h)), `"${h}" is not on one line of the legend:\n${text}`);
}

async function atList(): Promise<{ fake: FakeEngine; ui: Ui }> {
  const fake = new FakeEngine();
  fake.backups = [backupEntry(0)];
  const ui = renderApp(fake, { columns: 80 });
  await ui.waitFor('(1)');
  return { fake, ui };
}

describe('key legend at 80 columns', () => {
  test('backups screen: every key, ending with "? help" and "q quit"', async () => {
    const { ui } = await atList();
    assertLegend(await ui.settle(), ['↑↓ select', 'enter info', 'v verify', 'r restore', 'd delete', 'c create', 'g reload', '? help', 'q quit']);
  });

  test('create form', async () => {
    const { ui } = await atList();
    await ui.press('c');
    const f = await ui.waitFor((fr) => fr.includes(`New backup of ${HOME}`) && fr.includes('] temp'));
    assertLegend(f, ['↑↓ field', '←→ change', 'space tick', 'enter start', '? help', 'q back']);
  });

  test('restore form', async () => {
    const { ui } = await atList();
    await ui.press('r');
    const f = await ui.waitFor((fr) => fr.includes('] config'));
    assertLegend(f, ['space tick', 'tab next field', '? help', 'q back']);
  });

  test('info and help', async () => {
    const { ui } = await atList();
    await ui.press(KEY.enter);
    assertLegend(await ui.waitFor('Contents'), ['q back', '? help']);
    await ui.press('?');
    assertLegend(await ui.waitFor('Help: info'), ['q back']);
  });
});
