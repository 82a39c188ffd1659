// The TUI's operation state as a pure fold of engine events: no React, no timers, exact figures.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AicoError } from '../../src/engine/errors.js';
import type { EngineEvent } from '../../src/engine/index.js';
import { idleState, initialTracked, reduceOperation, type OperationAction, type Tracked } from '../../src/ui/operation-state.js';

const MiB = 1024 * 1024;
type R = { ok: boolean };

/** Folds actions from the initial state; `[event, atMs]` pairs are engine events at that time. */
function fold(actions: (OperationAction<R> | [EngineEvent, number])[], from: Tracked<R> = initialTracked<R>()): Tracked<R> {
  return actions.reduce<Tracked<R>>((t, a) => reduceOperation(t, Array.isArray(a) ? { type: 'event', event: a[0], at: a[1] } : a), from);
}

describe('reduceOperation', () => {
  test('run -> running; phases replace each other, warnings pile up in order', () => {
    const { state } = fold([
      { type: 'run', at: 1000 },
      [{ type: 'start', op: 'create' }, 1000],
      [{ type: 'phase', phase: 'scan', message: 'Taking consistent snapshots' }, 1010],
      [{ type: 'warning', code: 'SOURCE_MISSING', message: 'No rocksdb data' }, 1020],
      [{ type: 'phase', phase: 'archive', message: 'Writing aico-backup-x.tar.zst.enc' }, 1030],
      [{ type: 'warning', code: 'FILE_CHANGED', message: 'a changed' }, 1040],
    ]);
    assert.equal(state.status, 'running');
    assert.equal(state.phase, 'Writing aico-backup-x.tar.zst.enc');
    assert.deepEqual(state.warnings, [
      { code: 'SOURCE_MISSING', message: 'No rocksdb data' },
      { code: 'FILE_CHANGED', message: 'a changed' },
    ]);
  });

  test('progress: rate since the start event, ETA of what is left at that rate, the source kept when an event has none', () => {
    const { state } = fold([
      { type: 'run', at: 0 },
      [{ type: 'start', op: 'verify', path: '/b/x' }, 500],
      [{ type: 'progress', bytesDone: 2 * MiB, bytesTotal: 8 * MiB, source: 'libsql' }, 1500],
      [{ type: 'progress', bytesDone: 4 * MiB, bytesTotal: 8 * MiB }, 2500],
    ]);
    assert.deepEqual(state.progress, { done: 4 * MiB, total: 8 * MiB, source: 'libsql', rate: 2 * MiB, etaSeconds: 2 });
  });

  test('a second start (restore passing on its verification) measures from there', () => {
    const { state } = fold([
      { type: 'run', at: 0 },
      [{ type: 'start', op: 'restore', path: '/b/x' }, 0],
      [{ type: 'start', op: 'verify', path: '/b/x' }, 9000],
      [{ type: 'progress', bytesDone: MiB, bytesTotal: null }, 10_000],
    ]);
    assert.equal(state.progress!.rate, MiB);
    assert.equal(state.progress!.etaSeconds, null, 'no total, no ETA');
  });

  test('deriving: set once the engine has the password, cleared by its next event', () => {
    let t = fold([{ type: 'run', at: 0 }, [{ type: 'start', op: 'info', path: '/b/x.enc' }, 0], { type: 'deriving' }]);
    assert.equal(t.state.deriving, true);
    t = fold([[{ type: 'summary', op: 'info', ok: true, durationMs: 200 }, 200]], t);
    assert.equal(t.state.deriving, false);
    t = fold([{ type: 'deriving' }, { type: 'done', result: { ok: true } }], t);
    assert.equal(t.state.deriving, false, 'done ends it');
    assert.equal(fold([{ type: 'deriving' }]).state.deriving, false, 'not while nothing runs');
  });

  test('done keeps the result; failed keeps the error as the user sees it', () => {
    assert.deepEqual(fold([{ type: 'run', at: 0 }, { type: 'done', result: { ok: true } }]).state.result, { ok: true });
    const wrong = fold([
      { type: 'run', at: 0 },
      { type: 'deriving' },
      { type: 'failed', error: new AicoError('WRONG_PASSWORD', 'Wrong password for this backup.', { hint: 'Check the password.' }), cancelled: false },
    ]).state;
    assert.equal(wrong.status, 'failed');
    assert.equal(wrong.deriving, false);
    assert.deepEqual(wrong.error, { code: 'WRONG_PASSWORD', message: 'Wrong password for this backup.', hint: 'Check the password.' });
    assert.deepEqual(fold([{ type: 'run', at: 0 }, { type: 'failed', error: new TypeError('boom'), cancelled: false }]).state.error, { code: 'INTERNAL', message: 'boom' });
    // An error that only looks coded is not the engine's: still INTERNAL.
    assert.equal(fold([{ type: 'run', at: 0 }, { type: 'failed', error: Object.assign(new Error('x'), { code: 'ENOENT' }), cancelled: false }]).state.error!.code, 'INTERNAL');
  });

  test('cancelled is its own status, whatever the error', () => {
    const s = fold([{ type: 'run', at: 0 }, { type: 'failed', error: Object.assign(new Error('aborted'), { name: 'AbortError' }), cancelled: true }]).state;
    assert.equal(s.status, 'cancelled');
  });

  test('run starts clean after an earlier run; reset goes back to idle', () => {
    const earlier = fold([
      { type: 'run', at: 0 },
      [{ type: 'warning', code: 'LIVE_COPY', message: 'live' }, 1],
      { type: 'failed', error: new AicoError('LOCKED', 'locked'), cancelled: false },
    ]);
    const again = fold([{ type: 'run', at: 50 }], earlier);
    assert.deepEqual(again.state, { ...idleState(), status: 'running' });
    assert.deepEqual(fold([{ type: 'reset' }], earlier).state, idleState());
  });
});
