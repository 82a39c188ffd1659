import { isAicoError, progressFigures, type EngineEvent, type ProgressFigures } from '../engine/index.js';

export type Progress = ProgressFigures;

export interface ErrorView {
  code: string;
  message: string;
  hint?: string;
}

export interface OperationState<T> {
  status: 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
  phase: string | null;
  progress: Progress | null;
  warnings: { code: string; message: string }[];
  result: T | null;
  error: ErrorView | null;
  /** The engine has the password and is deriving the key from it (PBKDF2: a fraction of a second with nothing else to show), until its next event. */
  deriving: boolean;
}

/** Everything that changes an operation's state; `at` is when it happened (the rate and ETA are measured with it). */
export type OperationAction<T> =
  | { type: 'run'; at: number }
  | { type: 'event'; event: EngineEvent; at: number }
  | { type: 'deriving' }
  | { type: 'done'; result: T }
  | { type: 'failed'; error: unknown; cancelled: boolean }
  | { type: 'reset' };

/** The state screens see, and the time the figures are measured from. */
export interface Tracked<T> {
  state: OperationState<T>;
  startedAt: number;
}

export function idleState<T>(): OperationState<T> {
  return { status: 'idle', phase: null, progress: null, warnings: [], result: null, error: null, deriving: false };
}

export function initialTracked<T>(): Tracked<T> {
  return { state: idleState<T>(), startedAt: 0 };
}

/** An engine error as a screen shows it; anything that is not one is a bug (INTERNAL), as in the CLI. */
export function errorView(error: unknown): ErrorView {
  if (isAicoError(error)) return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
}

function onEvent<T>(t: Tracked<T>, e: EngineEvent, at: number): Tracked<T> {
  // Any event means the engine moved on from deriving the key.
  const s = { ...t.state, deriving: false };
  switch (e.type) {
    case 'start':
      // Like the CLI: the rate is measured from the start of the operation that reports progress.
      return { state: s, startedAt: at };
    case 'phase':
      return { ...t, state: { ...s, phase: e.message } };
    case 'warning':
      return { ...t, state: { ...s, warnings: [...s.warnings, { code: e.code, message: e.message }] } };
    case 'progress':
      return { ...t, state: { ...s, progress: progressFigures(e, at - t.startedAt, s.progress?.source) } };
    default:
      return { ...t, state: s };
  }
}

/**
 * The TUI's whole view of a running operation, folded from the engine's
 * events (the ones the CLI prints), so the screens have no logic of their own
 * about what an operation does.
 */
export function reduceOperation<T>(t: Tracked<T>, a: OperationAction<T>): Tracked<T> {
  switch (a.type) {
    case 'run':
      return { state: { ...idleState<T>(), status: 'running' }, startedAt: a.at };
    case 'event':
      return onEvent(t, a.event, a.at);
    case 'deriving':
      return t.state.status === 'running' ? { ...t, state: { ...t.state, deriving: true } } : t;
    case 'done':
      return { ...t, state: { ...t.state, status: 'done', result: a.result, deriving: false } };
    case 'failed':
      return { ...t, state: { ...t.state, status: a.cancelled ? 'cancelled' : 'failed', error: errorView(a.error), deriving: false } };
    case 'reset':
      return initialTracked<T>();
  }
}
