import type { EngineEvent } from '../engine/index.js';
import { AicoError, isAicoError } from '../engine/index.js';
import { formatBytes, formatDuration, formatRate } from './format.js';

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

export function textOutput(stderr: NodeJS.WriteStream = process.stderr): Output {
  const live = Boolean(stderr.isTTY) && process.env.TERM !== 'dumb';
  let started = 0;
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
          started = Date.now();
          break;
        case 'phase':
          clearBar();
          stderr.write(`${e.message}\n`);
          break;
        case 'warning':
          clearBar();
          stderr.write(`warning: ${e.message}\n`);
          break;
        case 'progress': {
          if (!live) break;
          const elapsed = Date.now() - started;
          const total = e.bytesTotal ?? 0;
          const frac = total > 0 ? Math.min(1, e.bytesDone / total) : 0;
          const width = 24;
          const filled = Math.round(frac * width);
          const eta = frac > 0 && frac < 1 ? ` ETA ${formatDuration((elapsed / frac) * (1 - frac))}` : '';
          const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
          stderr.write(`\r\x1b[2K[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(e.bytesDone)} ${formatRate(e.bytesDone, elapsed)}${eta}${e.source ? `  ${e.source}` : ''}`);
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
