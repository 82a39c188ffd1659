import { useCallback, useReducer, useRef } from 'react';
import { isAicoError, type EngineEvent, type OperationContext } from '../engine/index.js';
import { initialTracked, reduceOperation, type OperationAction, type Tracked } from './operation-state.js';

export type { ErrorView, OperationState, Progress } from './operation-state.js';

/**
 * Runs one engine operation and keeps its state (operation-state.ts folds the
 * events in). cancel() aborts it through its AbortSignal.
 */
export function useOperation<T>() {
  const [tracked, dispatch] = useReducer<Tracked<T>, [OperationAction<T>]>(reduceOperation, initialTracked<T>());
  const abort = useRef<AbortController | null>(null);

  const run = useCallback(async (op: (ctx: OperationContext) => Promise<T>) => {
    const controller = new AbortController();
    abort.current = controller;
    dispatch({ type: 'run', at: Date.now() });
    const onEvent = (event: EngineEvent) => dispatch({ type: 'event', event, at: Date.now() });
    try {
      const result = await op({ onEvent, signal: controller.signal });
      dispatch({ type: 'done', result });
      return result;
    } catch (error) {
      dispatch({ type: 'failed', error, cancelled: isAicoError(error, 'CANCELLED') || controller.signal.aborted });
      return null;
    } finally {
      if (abort.current === controller) abort.current = null;
    }
  }, []);

  const cancel = useCallback(() => abort.current?.abort(), []);
  const reset = useCallback(() => dispatch({ type: 'reset' }), []);
  /**
   * The password provider as the engine should get it: once the engine has
   * the password, the state says the key is being derived, until its next event.
   */
  const deriving = useCallback(<P extends (() => Promise<Buffer>) | undefined>(password: P): P => {
    if (!password) return password;
    return (async () => {
      const pw = await password();
      dispatch({ type: 'deriving' });
      return pw;
    }) as P;
  }, []);
  return { state: tracked.state, run, cancel, reset, deriving };
}
