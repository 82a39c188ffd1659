import { CommanderError } from 'commander';
import path from 'node:path';
import { AicoError, knownStores, outputDirFrom } from './engine/index.js';
import { installSignalHandlers, makeContext, type GlobalFlags, type RunContext } from './cli/context.js';
import { jsonOutput, textOutput, toAicoError } from './cli/output.js';
import { buildProgram } from './cli/program.js';

/** Entry point: argv -> one headless command. Sets process.exitCode; never calls process.exit on success. */
export async function main(argv: string[]): Promise<void> {
  const signal = installSignalHandlers();
  const wantsJson = argv.includes('--json');
  const run = async (fn: (ctx: RunContext) => Promise<void>, flags: GlobalFlags) => {
    const ctx = makeContext(flags, signal);
    try {
      await fn(ctx);
      // A Ctrl-C that came too late to stop the operation (e.g. during a restore's swap) must not report "cancelled".
      if (process.exitCode === 130 || process.exitCode === 143) process.exitCode = 0;
    } catch (error) {
      const err = toAicoError(error);
      ctx.out.error(err);
      if (err.code === 'INTERNAL' && process.env.AICO_DEBUG) console.error(error);
      process.exitCode = err.code === 'CANCELLED' && process.exitCode === 143 ? 143 : err.exitCode;
    }
  };
  const tui = tuiRequest(argv.slice(2));
  if (tui && !wantsJson && process.stdin.isTTY && process.stdout.isTTY) {
    const ctx = makeContext({ home: tui.home }, signal);
    try {
      const { backup: cfg } = await ctx.config();
      const { runTui } = await importInteractiveInk();
      await runTui({
        home: ctx.home,
        outputDir: outputDirFrom(cfg, tui.output),
        stores: knownStores(cfg, outputDirFrom(cfg, tui.output)),
        config: cfg,
        ...(tui.passwordFile ? { passwordFile: path.resolve(tui.passwordFile) } : {}),
      });
    } catch (error) {
      const err = toAicoError(error);
      ctx.out.error(err);
      process.exitCode = err.exitCode;
    }
    return;
  }
  const program = buildProgram(run, wantsJson);
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return;
    }
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      const err = new AicoError('USAGE', error.message.replace(/^error: /, ''), { hint: 'See "aico backup --help".' });
      if (wantsJson) jsonOutput().error(err);
      process.exitCode = 2;
      return;
    }
    const err = toAicoError(error);
    (wantsJson ? jsonOutput() : textOutput()).error(err);
    process.exitCode = err.exitCode;
  }
}

interface TuiRequest {
  home?: string;
  output?: string;
  passwordFile?: string;
}

const TUI_OPTIONS = new Map<string, keyof TuiRequest>([['--home', 'home'], ['--output', 'output'], ['-o', 'output'], ['--password-file', 'passwordFile']]);

/**
 * `aico` or `aico backup` with at most --home, --output and --password-file
 * opens the TUI (on a terminal); anything else is a headless command.
 */
function tuiRequest(args: string[]): TuiRequest | null {
  const out: TuiRequest = {};
  let sawBackup = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const option = TUI_OPTIONS.get(flag!);
    if (option) {
      const value = inline ?? args[++i];
      if (value === undefined) return null;
      out[option] = value;
    } else if (a === 'backup' && !sawBackup) sawBackup = true;
    else return null;
  }
  return out;
}

/**
 * Ink decides once, when it loads, that a CI variable means "no live
 * rendering" (it would print nothing until exit). The TUI only starts on a
 * real terminal, so hide CI and CONTINUOUS_INTEGRATION from that check and
 * put them back afterwards.
 */
async function importInteractiveInk(): Promise<typeof import('./tui.js')> {
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  for (const key of Object.keys(saved)) if (key in process.env) process.env[key] = 'false';
  try {
    return await import('./tui.js');
  } finally {
    for (const [key, value] of Object.entries(saved)) if (value !== undefined) process.env[key] = value;
  }
}
