import { KEY, cleanup, renderApp, type Ui } from '../ui/harness.js';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { runCreate, type CreateFlags } from '../../src/cli/commands/create.js';
import type { RunContext } from '../../src/cli/context.js';
import type { Output } from '../../src/cli/output.js';
import { loadConfig, outputDirFrom, type BackupConfig, type EngineEvent } from '../../src/engine/index.js';
import { FakeEngine, HOME } from '../ui/fake-engine.js';
import { tempDir } from '../helpers.js';

/**
 * The CLI's create command and the TUI's create screen both turn the
 * configuration and what the user asked for into create options through the
 * engine's createOptionsFrom. Each side here runs its real code against a
 * recording engine; the options (and warnings) they hand it must be the same.
 */

afterEach(cleanup);

let config: BackupConfig;
const savedPassword = process.env.AICO_BACKUP_PASSWORD;

before(async () => {
  const home = tempDir();
  await fs.mkdir(path.join(home, 'config'));
  await fs.writeFile(
    path.join(home, 'config', 'core.yaml'),
    'backup:\n  encrypt: false\n  compression: gzip\n  compression_level: 6\n  output_dir: "~/aico-parity"\n  include: [libsql, config, models]\n  exclude: []\n',
  );
  config = (await loadConfig(home)).backup;
});
after(() => {
  if (savedPassword === undefined) delete process.env.AICO_BACKUP_PASSWORD;
  else process.env.AICO_BACKUP_PASSWORD = savedPassword;
});

interface Asked {
  options: Record<string, unknown>;
  password: string | null;
  /** Warning messages the user was shown. */
  warnings: string[];
}

async function asked(fake: FakeEngine, warnings: Asked['warnings']): Promise<Asked> {
  const calls = fake.callsOf('create');
  assert.equal(calls.length, 1);
  const { password, ...options } = calls[0];
  return { options, password: password ? (await password()).toString() : null, warnings };
}

/** `aico backup create` with these flags (as commander hands them over), against a recording engine. */
async function viaCli(cfg: BackupConfig, flags: CreateFlags): Promise<Asked> {
  const fake = new FakeEngine();
  const events: EngineEvent[] = [];
  const out: Output = { json: true, event: (e) => events.push(e), result: () => {}, error: () => {}, note: () => {} };
  const ctx: RunContext = { out, home: HOME, config: async () => ({ backup: cfg, files: [] }), signal: new AbortController().signal };
  await runCreate(ctx, flags, fake.api);
  return asked(fake, events.flatMap((e) => (e.type === 'warning' ? [e.message] : [])));
}

const line = (f: string, label: RegExp) => f.split('\n').find((l) => label.test(l)) ?? '';
const LABEL = { level: /Level/, encrypt: /Encryption/, output: /Backup dir/, chromadb: /\] chromadb/, config: /\] config/ } as const;

async function goTo(ui: Ui, field: keyof typeof LABEL): Promise<void> {
  for (let i = 0; i < 12 && !line(ui.frame(), LABEL[field]).startsWith('>'); i++) await ui.press(KEY.down);
  await ui.waitFor((f) => line(f, LABEL[field]).startsWith('>'));
}

/** The create screen, started from the same configuration, driven by `fill`, against a recording engine. */
async function viaTui(cfg: BackupConfig, fill: (ui: Ui) => Promise<void>): Promise<Asked & { frame: string }> {
  const fake = new FakeEngine();
  const ui = renderApp(fake, { settings: { home: HOME, outputDir: outputDirFrom(cfg), config: cfg }, initial: { name: 'create' } });
  await ui.waitFor((f) => f.includes(`New backup of ${HOME}`) && f.includes('] temp'));
  await fill(ui);
  const frame = await ui.waitFor('Saved ');
  return { ...(await asked(fake, [...frame.matchAll(/warning: (.*)/g)].map((m) => m[1]!.trim()))), frame };
}

describe('the CLI and the TUI ask create for the same thing', () => {
  test('nothing changed: the configuration as it is', async () => {
    const cli = await viaCli(config, {});
    const tui = await viaTui(config, async (ui) => {
      // The ticks follow the configuration's include list (models is an extra, ticked because configured).
      const f = ui.frame();
      assert.match(line(f, /\] models/), /\[x\]/);
      assert.match(line(f, LABEL.chromadb), /\[ \]/);
      assert.match(line(f, /Compression/), /< gzip >/);
      assert.match(line(f, LABEL.level), /< 6 >/);
      await ui.press(KEY.enter);
    });
    assert.deepEqual(tui.options, cli.options);
    assert.deepEqual(cli.options, {
      home: HOME, outputDir: outputDirFrom(config), encrypt: false, compression: 'gzip', compressionLevel: 6, include: ['libsql', 'config', 'models'], exclude: [], maxChain: 14,
    });
    assert.deepEqual([cli.password, tui.password], [null, null]);
    assert.deepEqual([cli.warnings, tui.warnings], [[], []]);
  });

  test('compression, level, sources and backup directory changed (lz4 ignores the level, and both say so)', async () => {
    const cli = await viaCli(config, { compression: 'lz4', compressionLevel: '2', include: 'libsql,chromadb,models', output: '/mnt/usb/aico' });
    const tui = await viaTui(config, async (ui) => {
      await ui.press(KEY.right); // gzip -> lz4
      await goTo(ui, 'level');
      for (let i = 0; i < 4; i++) await ui.press(KEY.left); // 6 -> 2
      await ui.waitFor((f) => line(f, LABEL.level).includes('< 2 >'));
      await goTo(ui, 'output');
      await ui.press(KEY.space);
      await ui.waitFor('Backup directory: ');
      for (let i = 0; i < outputDirFrom(config).length; i++) await ui.press(KEY.backspace);
      await ui.type('/mnt/usb/aico');
      await ui.press(KEY.enter);
      await ui.waitFor((f) => /Backup dir\s+\/mnt\/usb\/aico/.test(f));
      await goTo(ui, 'chromadb');
      await ui.press(KEY.space);
      await goTo(ui, 'config');
      await ui.press(KEY.space);
      await ui.waitFor((f) => line(f, LABEL.chromadb).includes('[x]') && line(f, LABEL.config).includes('[ ]'));
      await ui.press(KEY.enter);
    });
    assert.deepEqual(tui.options, cli.options);
    assert.deepEqual(cli.options, {
      home: HOME, outputDir: '/mnt/usb/aico', encrypt: false, compression: 'lz4', compressionLevel: 2, include: ['libsql', 'chromadb', 'models'], exclude: [], maxChain: 14,
    });
    assert.deepEqual(cli.warnings, ['lz4 has a single level; the compression level is ignored.']);
    assert.deepEqual(tui.warnings, cli.warnings);
  });

  test('encrypted by configuration: --no-encrypt --no-compress equals unticking encryption and choosing none', async () => {
    const encrypted = { ...config, encrypt: true };
    const cli = await viaCli(encrypted, { encrypt: false, compress: false });
    const tui = await viaTui(encrypted, async (ui) => {
      await ui.press(KEY.right, KEY.right); // gzip -> lz4 -> none
      await goTo(ui, 'encrypt');
      await ui.press(KEY.space);
      await ui.waitFor((f) => line(f, LABEL.encrypt).includes('NOT encrypted') && f.includes('< none >'));
      await ui.press(KEY.enter);
    });
    assert.deepEqual(tui.options, cli.options);
    assert.deepEqual([cli.options.encrypt, cli.options.compression, cli.password, tui.password], [false, 'none', null, null]);
  });

  test('encrypted by configuration, nothing changed: the same options, and each side gets the password its own way', async () => {
    const encrypted = { ...config, encrypt: true };
    process.env.AICO_BACKUP_PASSWORD = 'parity-pw';
    const cli = await viaCli(encrypted, {});
    const tui = await viaTui(encrypted, async (ui) => {
      await ui.press(KEY.enter);
      await ui.waitFor('Password for the encrypted backup');
      await ui.type('parity-pw');
      await ui.press(KEY.enter);
      await ui.waitFor('Repeat:');
      await ui.type('parity-pw');
      await ui.press(KEY.enter);
    });
    assert.deepEqual(tui.options, cli.options);
    assert.equal(cli.options.encrypt, true);
    assert.deepEqual([cli.password, tui.password], ['parity-pw', 'parity-pw']);
  });
});
