import { useCallback, useRef, useState } from 'react';
import type { EngineEvent, OperationContext } from '../engine/index.js';

export interface Progress {
  done: number;
  total: number | null;
  source?: string;
  /** Bytes per second over the whole run. */
  rate: number;
  etaSeconds: number | null;
}

export interface OperationState<T> {
  status: 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
  phase: string | null;
  progress: Progress | null;
  warnings: { code: string; message: string }[];
  result: T | null;
  error: { code: string; message: string; hint?: string } | null;
}

const initial = { status: 'idle', phase: null, progress: null, warnings: [], result: null, error: null } as const;

/**
 * Runs one engine operation and folds its event stream into screen state:
 * the same events the CLI prints, so the TUI has no logic of its own about
 * what an operation does. cancel() aborts it through its AbortSignal.
 */
export function useOperation<T>() {
  const [state, setState] = useState<OperationState<T>>({ ...initial, warnings: [] });
  const abort = useRef<AbortController | null>(null);

  const run = useCallback(async (op: (ctx: OperationContext) => Promise<T>) => {
    const controller = new AbortController();
    abort.current = controller;
    const started = Date.now();
    setState({ ...initial, warnings: [], status: 'running' });
    const onEvent = (e: EngineEvent) => {
      setState((s) => {
        if (e.type === 'phase') return { ...s, phase: e.message };
        if (e.type === 'warning') return { ...s, warnings: [...s.warnings, { code: e.code, message: e.message }] };
        if (e.type === 'progress') {
          const seconds = Math.max(0.001, (Date.now() - started) / 1000);
          const rate = e.bytesDone / seconds;
          const eta = e.bytesTotal && rate > 0 ? Math.max(0, (e.bytesTotal - e.bytesDone) / rate) : null;
          return { ...s, progress: { done: e.bytesDone, total: e.bytesTotal, source: e.source ?? s.progress?.source, rate, etaSeconds: eta } };
        }
        return s;
      });
    };
    try {
      const result = await op({ onEvent, signal: controller.signal });
      setState((s) => ({ ...s, status: 'done', result }));
      return result;
    } catch (error) {
      const err = error as { code?: string; message?: string; hint?: string };
      const cancelled = err?.code === 'CANCELLED' || controller.signal.aborted;
      setState((s) => ({
        ...s,
        status: cancelled ? 'cancelled' : 'failed',
        error: { code: err?.code ?? 'INTERNAL', message: err?.message ?? String(error), ...(err?.hint ? { hint: err.hint } : {}) },
      }));
      return null;
    } finally {
      if (abort.current === controller) abort.current = null;
    }
  }, []);

  const cancel = useCallback(() => abort.current?.abort(), []);
  const reset = useCallback(() => setState({ ...initial, warnings: [] }), []);
  return { state, run, cancel, reset };
}
