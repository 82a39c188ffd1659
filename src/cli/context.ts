import { configureS3, loadConfig, resolveHome, type LoadedConfig } from '../engine/index.js';
import { jsonOutput, textOutput, type Output } from './output.js';

export interface GlobalFlags {
  home?: string;
  json?: boolean;
}

export interface RunContext {
  out: Output;
  home: string;
  config(): Promise<LoadedConfig>;
  signal: AbortSignal;
}

let controller: AbortController | null = null;

/** Ctrl-C / SIGTERM cancel the running operation; it cleans up and exits 130 / 143. A second one exits at once. */
export function installSignalHandlers(): AbortSignal {
  controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller!.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    process.exitCode = signal === 'SIGINT' ? 130 : 143;
    controller!.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

export function makeContext(flags: GlobalFlags, signal: AbortSignal): RunContext {
  const home = resolveHome(flags.home);
  let loaded: Promise<LoadedConfig> | null = null;
  // A bucket's endpoint and region may be in the home's core.yaml: read when a command reaches one.
  configureS3(async () => (await (loaded ??= loadConfig(home))).backup.s3);
  return {
    out: flags.json ? jsonOutput() : textOutput(),
    home,
    config: () => (loaded ??= loadConfig(home)),
    signal,
  };
}

