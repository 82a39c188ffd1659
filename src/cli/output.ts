import type { EngineEvent } from '../engine/index.js';
import { AicoError, isAicoError } from '../engine/index.js';
import { progressFigures, progressFraction, progressPercent, progressText, type ProgressFigures } from './format.js';

/**
 * Where a command's output goes, chosen once per run: results on stdout,
 * progress and warnings on stderr. Under --json stdout carries exactly one
 * JSON document and stderr one JSON object per event.
 */
export interface Output {
  readonly json: boolean;
  event(e: EngineEvent): void;
  result(value: Record<string, unknown>, text: () => string): void;
  error(error: AicoError): void;
  /** Human-only note on stderr (suppressed under --json). */
  note(text: string): void;
}

export function toAicoError(error: unknown): AicoError {
  if (isAicoError(error)) return error;
  return new AicoError('INTERNAL', `Unexpected error: ${(error as Error)?.message ?? String(error)}`, {
    hint: 'This is a bug in aico-backup; please report it with the command you ran.',
    cause: error,
  });
}

function errorBody(error: AicoError): Record<string, unknown> {
  return {
    code: error.code,
    message: error.message,
    ...(error.hint ? { hint: error.hint } : {}),
    ...(error.details ? { details: error.details } : {}),
  };
}

export function jsonOutput(): Output {
  return {
    json: true,
    event(e) {
      process.stderr.write(`${JSON.stringify(e)}\n`);
    },
    result(value) {
      process.stdout.write(`${JSON.stringify({ ok: true, ...value })}\n`);
    },
    error(error) {
      process.stdout.write(`${JSON.stringify({ ok: false, error: errorBody(error) })}\n`);
    },
    note() {},
  };
}

/** The CLI's one-line progress bar; the text after the percentage is the TUI's too. */
export function progressLine(p: ProgressFigures, width = 24): string {
  const filled = Math.round(progressFraction(p) * width);
  const percent = progressPercent(p);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent ? `${percent.padStart(4)} ` : ''}${progressText(p)}`;
}

/** `now` is the clock progress rates are measured with (tests pass their own). */
export function textOutput(stderr: Pick<NodeJS.WriteStream, 'write' | 'isTTY'> = process.stderr, now: () => number = Date.now): Output {
  const live = Boolean(stderr.isTTY) && process.env.TERM !== 'dumb';
  let started = 0;
  let source: string | undefined;
  let barShown = false;
  const clearBar = () => {
    if (barShown) stderr.write('\r\x1b[2K');
    barShown = false;
  };
  return {
    json: false,
    event(e) {
      switch (e.type) {
        case 'start':
          started = now();
          source = undefined;
          break;
        // A nested operation's lines (restore's verification, its safety backup) sit under the restore's.
        case 'phase':
          clearBar();
          stderr.write(`${e.parent ? '  ' : ''}${e.message}\n`);
          break;
        case 'warning':
          clearBar();
          stderr.write(`${e.parent ? '  ' : ''}warning: ${e.message}\n`);
          break;
        case 'progress': {
          if (!live) break;
          const p = progressFigures(e, now() - started, source);
          source = p.source;
          stderr.write(`\r\x1b[2K${progressLine(p)}`);
          barShown = true;
          break;
        }
        case 'summary':
          clearBar();
          break;
        default:
          break;
      }
    },
    result(_value, text) {
      clearBar();
      process.stdout.write(`${text()}\n`);
    },
    error(error) {
      clearBar();
      stderr.write(`error: ${error.message}\n`);
      if (error.hint) stderr.write(`  ${error.hint}\n`);
    },
    note(text) {
      clearBar();
      stderr.write(`${text}\n`);
    },
  };
}
