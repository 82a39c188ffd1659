/**
 * The one event union every engine operation reports through. The CLI prints
 * it (text or JSON lines on stderr) and the TUI renders it; neither has a code
 * path of its own for what happens inside an operation.
 */
import type { WarningCode } from './codes.js';

export type OperationName = 'create' | 'verify' | 'info' | 'list' | 'restore' | 'delete' | 'consolidate' | 'cleanup' | 'schedule' | 'migrate' | 'sync';

export type PhaseName = 'scan' | 'snapshot' | 'archive' | 'finalize' | 'header' | 'read' | 'stage' | 'validate' | 'swap' | 'remove' | 'migrate' | 'upload' | 'download';

export type EngineEvent = (
  | { type: 'start'; op: OperationName; path?: string }
  | { type: 'phase'; phase: PhaseName; message: string }
  | {
      type: 'progress';
      bytesDone: number;
      bytesTotal: number | null;
      /** Source currently being read, e.g. "libsql" or "config". */
      source?: string;
    }
  | {
      type: 'item';
      source: string;
      path: string;
      bytes: number;
      /** delete only: what happened to the archive at `path`. */
      action?: 'deleted' | 'would-delete';
    }
  | { type: 'warning'; code: WarningCode; message: string }
  | { type: 'summary'; op: OperationName; ok: boolean; durationMs: number; bytes?: number }
) & EventOrigin;

/**
 * On the events an operation passes on from one it runs inside it (restore:
 * the verification while it stages, its pre-restore safety backup): `op` is
 * that inner operation and `parent` the one the caller ran, so a consumer can
 * tell them from the operation's own events, which have no `parent`.
 */
export interface EventOrigin {
  op?: OperationName;
  parent?: OperationName;
}

export type EventSink = (event: EngineEvent) => void;

export interface OperationContext {
  onEvent?: EventSink;
  signal?: AbortSignal;
}

export const noopSink: EventSink = () => {};

/** A warning event; emitters build them here so a misspelt code does not compile. */
export function warningEvent(code: WarningCode, message: string): EngineEvent {
  return { type: 'warning', code, message };
}

/** The context for `op` run inside `parent`: the same signal, its events passed on marked as `op`'s within `parent`. */
export function nestedContext(ctx: OperationContext, parent: OperationName, op: OperationName): OperationContext {
  const sink = ctx.onEvent ?? noopSink;
  return { ...ctx, onEvent: (event) => sink({ ...event, op, parent }) };
}

/**
 * Limits progress events to one per interval (plus the final one) so a fast
 * operation does not flood a terminal or a JSON consumer.
 */
export function throttledProgress(
  sink: EventSink,
  bytesTotal: number | null,
  intervalMs = 100,
): { update(bytesDone: number, source?: string): void; flush(bytesDone: number): void } {
  let last = 0;
  let lastSource: string | undefined;
  return {
    update(bytesDone, source) {
      const now = Date.now();
      if (source !== lastSource || now - last >= intervalMs) {
        last = now;
        lastSource = source;
        sink({ type: 'progress', bytesDone, bytesTotal, ...(source ? { source } : {}) });
      }
    },
    flush(bytesDone) {
      sink({ type: 'progress', bytesDone, bytesTotal, ...(lastSource ? { source: lastSource } : {}) });
    },
  };
}
