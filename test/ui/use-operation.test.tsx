import { cleanup, tick } from './harness.js';
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import React from 'react';
import { AicoError } from '../../src/engine/errors.js';
import type { OperationContext } from '../../src/engine/index.js';
import { useOperation } from '../../src/ui/use-operation.js';
import { Gate, MiB } from './fake-engine.js';

afterEach(cleanup);

type Op = ReturnType<typeof useOperation<{ ok: boolean }>>;

/** Mounts the hook; `op()` is what a screen would see on its latest render. */
function mount() {
  let latest: Op | null = null;
  function Probe() {
    const op = useOperation<{ ok: boolean }>();
    latest = op;
    return <Text>{op.state.status}</Text>;
  }
  const inst = render(<Probe />);
  return { op: () => latest!, frame: () => inst.lastFrame() ?? '' };
}

async function until(cond: () => boolean, what: string, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await tick(5);
  }
}

/** Resolves when aborted, rejecting the way the engine does. */
const abortable = (ctx: OperationContext, gate: Gate) =>
  new Promise<void>((resolve, reject) => {
    ctx.signal!.addEventListener('abort', () => reject(new AicoError('CANCELLED', 'Cancelled; nothing was written under a final name.')), { once: true });
    void gate.promise.then(resolve);
  });

describe('useOperation folds engine events into screen state', () => {
  test('start, phase, progress, warning, summary -> running with phase/progress/warnings, then done with the result', async () => {
    const { op, frame } = mount();
    await until(() => frame() === 'idle', 'idle');
    const gate = new Gate();
    let seenSignal: AbortSignal | undefined;
    const p = op().run(async (ctx) => {
      seenSignal = ctx.signal;
      ctx.onEvent!({ type: 'start', op: 'verify', path: '/b/x.tar' });
      ctx.onEvent!({ type: 'phase', phase: 'header', message: 'Checking the header' });
      ctx.onEvent!({ type: 'phase', phase: 'read', message: 'Reading and checking every file' });
      await tick(100);
      ctx.onEvent!({ type: 'progress', bytesDone: 2 * MiB, bytesTotal: 8 * MiB, source: 'libsql' });
      ctx.onEvent!({ type: 'progress', bytesDone: 4 * MiB, bytesTotal: 8 * MiB });
      ctx.onEvent!({ type: 'warning', code: 'FILE_CHANGED', message: 'a changed' });
      ctx.onEvent!({ type: 'warning', code: 'LIVE_COPY', message: 'b live' });
      await gate.promise;
      ctx.onEvent!({ type: 'summary', op: 'verify', ok: true, durationMs: 120 });
      return { ok: true };
    });
    await until(() => op().state.warnings.length === 2, 'warnings');
    const s = op().state;
    assert.equal(s.status, 'running');
    assert.equal(frame(), 'running');
    assert.equal(s.phase, 'Reading and checking every file', 'the latest phase wins');
    assert.deepEqual(s.warnings, [{ code: 'FILE_CHANGED', message: 'a changed' }, { code: 'LIVE_COPY', message: 'b live' }]);
    const pr = s.progress!;
    assert.deepEqual([pr.done, pr.total], [4 * MiB, 8 * MiB]);
    assert.equal(pr.source, 'libsql', 'a progress event without a source keeps the last one');
    // About 4 MiB in ~100 ms: at most ~40 MiB/s, and the ETA is what is left at that rate.
    // (A timer may fire a millisecond early against Date.now: the bound allows 90 ms.)
    assert.ok(pr.rate > 0 && pr.rate <= (4 * MiB) / 0.09, `rate ${pr.rate}`);
    assert.ok(Math.abs(pr.etaSeconds! - (4 * MiB) / pr.rate) < 1e-6);
    assert.ok(seenSignal instanceof AbortSignal && !seenSignal.aborted);
    gate.release();
    assert.deepEqual(await p, { ok: true });
    await until(() => op().state.status === 'done', 'done');
    assert.deepEqual(op().state.result, { ok: true });
    assert.equal(op().state.error, null);
    assert.equal(frame(), 'done');
  });

  test('unknown totals give no ETA', async () => {
    const { op } = mount();
    const gate = new Gate();
    void op().run(async (ctx) => {
      await tick(20);
      ctx.onEvent!({ type: 'progress', bytesDone: MiB, bytesTotal: null });
      await gate.promise;
      return { ok: true };
    });
    await until(() => op().state.progress !== null, 'progress');
    assert.equal(op().state.progress!.etaSeconds, null);
    assert.equal(op().state.progress!.total, null);
    gate.release();
  });

  test('a coded engine error -> failed with code, message and hint; run() resolves null', async () => {
    const { op } = mount();
    const r = await op().run(async () => {
      throw new AicoError('WRONG_PASSWORD', 'Wrong password for this backup.', { hint: 'Check the password (it is case-sensitive) and try again.' });
    });
    assert.equal(r, null);
    await until(() => op().state.status === 'failed', 'failed');
    assert.deepEqual(op().state.error, { code: 'WRONG_PASSWORD', message: 'Wrong password for this backup.', hint: 'Check the password (it is case-sensitive) and try again.' });
  });

  test('an uncoded error is INTERNAL', async () => {
    const { op } = mount();
    await op().run(async () => {
      throw new TypeError('boom');
    });
    await until(() => op().state.status === 'failed', 'failed');
    assert.deepEqual(op().state.error, { code: 'INTERNAL', message: 'boom' });
  });

  test('cancel() aborts the signal; the CANCELLED rejection -> cancelled, not failed', async () => {
    const { op } = mount();
    const gate = new Gate();
    let signal: AbortSignal | undefined;
    const p = op().run(async (ctx) => {
      signal = ctx.signal;
      ctx.onEvent!({ type: 'progress', bytesDone: MiB, bytesTotal: 8 * MiB });
      await abortable(ctx, gate);
      return { ok: true };
    });
    await until(() => op().state.progress !== null, 'progress');
    op().cancel();
    assert.equal(signal!.aborted, true);
    assert.equal(await p, null);
    await until(() => op().state.status === 'cancelled', 'cancelled');
    assert.equal(op().state.error!.code, 'CANCELLED');
    assert.equal(op().state.result, null);
  });

  test('an operation that fails in another way after cancel() still counts as cancelled', async () => {
    const { op } = mount();
    void op().run(
      (ctx) =>
        new Promise((_, reject) => ctx.signal!.addEventListener('abort', () => reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })))),
    );
    await tick(20);
    op().cancel();
    await until(() => op().state.status !== 'running', 'settled');
    assert.equal(op().state.status, 'cancelled');
  });

  test('reset() goes back to idle with nothing kept', async () => {
    const { op } = mount();
    await op().run(async (ctx) => {
      ctx.onEvent!({ type: 'warning', code: 'FILE_SKIPPED', message: 'y' });
      return { ok: true };
    });
    await until(() => op().state.status === 'done', 'done');
    op().reset();
    await until(() => op().state.status === 'idle', 'idle');
    assert.deepEqual(op().state, { status: 'idle', phase: null, progress: null, warnings: [], result: null, error: null, deriving: false });
  });

  test('cancel() still reaches a second run after the first one settles late', async () => {
    const { op } = mount();
    const first = new Gate();
    const a = op().run(async () => {
      await first.promise;
      return { ok: true };
    });
    const second = new Gate();
    let secondSignal: AbortSignal | undefined;
    const b = op().run(async (ctx) => {
      secondSignal = ctx.signal;
      await abortable(ctx, second);
      return { ok: true };
    });
    first.release();
    await a;
    op().cancel();
    // Regression: run()'s finally once cleared abort.current unconditionally, so
    // the first run settling detached cancel() from the run still in progress.
    const aborted = secondSignal!.aborted;
    second.release();
    await b;
    assert.ok(aborted, 'cancel() did not reach the running operation');
  });
});
