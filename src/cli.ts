import { CommanderError } from 'commander';
import { AicoError } from './engine/index.js';
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
    } catch (error) {
      const err = toAicoError(error);
      ctx.out.error(err);
      if (err.code === 'INTERNAL' && process.env.AICO_DEBUG) console.error(error);
      process.exitCode = err.code === 'CANCELLED' && process.exitCode === 143 ? 143 : err.exitCode;
    }
  };
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
