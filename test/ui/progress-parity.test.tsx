// The CLI's progress line and the TUI's progress bar say the same thing (bytes, rate and its unit,
// ETA, source) for the same events at the same times.
import { cleanup, strip } from './harness.js';
import { render } from 'ink-testing-library';
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import React from 'react';
import type { EngineEvent } from '../../src/engine/index.js';
import { textOutput } from '../../src/cli/output.js';
import { ProgressBar } from '../../src/ui/components/progress-bar.js';
import { AppProvider, type AppContext } from '../../src/ui/context.js';
import { initialTracked, reduceOperation } from '../../src/ui/operation-state.js';
import { makeTheme } from '../../src/ui/theme.js';
import { FakeEngine, MiB, SETTINGS } from './fake-engine.js';

afterEach(cleanup);

/** The last progress line the CLI drew on a terminal's stderr, for these events at these times. */
function cliLine(events: [EngineEvent, number][]): string {
  let written = '';
  let clock = 0;
  const out = textOutput({ isTTY: true, write: (s: string | Uint8Array) => ((written += String(s)), true) } as never, () => clock);
  for (const [e, at] of events) {
    clock = at;
    out.event(e);
  }
  return written.split('\r\x1b[2K').at(-1)!;
}

/** The TUI's progress bar, two lines, for the same events: folded by the reducer, drawn by ProgressBar. */
function tuiLines(events: [EngineEvent, number][]): string[] {
  const t = events.reduce((s, [event, at]) => reduceOperation(s, { type: 'event', event, at }), reduceOperation(initialTracked<null>(), { type: 'run', at: 0 }));
  const app: AppContext = {
    engine: new FakeEngine().api,
    settings: SETTINGS,
    theme: makeTheme({ NO_COLOR: '1' }),
    nav: { push() {}, pop() {}, replace() {}, quit() {} },
    passwords: new Map(),
    givenPasswords: new Map(),
    verified: new Map(),
    switchStore: () => {},
  };
  const inst = render(
    <AppProvider value={app}>
      <ProgressBar progress={t.state.progress!} />
    </AppProvider>,
  );
  return strip(inst.lastFrame() ?? '').split('\n');
}

/** "[###...] 37% rest" -> ["37%", "rest"]; the TUI's bar line has no rest. */
const afterBar = (line: string) => {
  const m = /^\[[#.]+\]\s+(\d+%)(?:\s+(.*))?$/.exec(line.trimEnd());
  assert.ok(m, `not a bar line: ${JSON.stringify(line)}`);
  return [m[1]!, m[2] ?? ''];
};

describe('one progress text for the CLI and the TUI', () => {
  test('mid-run: same percent, bytes, rate unit, ETA and source (kept from an earlier event)', () => {
    const events: [EngineEvent, number][] = [
      [{ type: 'start', op: 'verify', path: '/b/x.tar.zst' }, 1000],
      [{ type: 'phase', phase: 'read', message: 'Reading and checking every file' }, 1001],
      [{ type: 'progress', bytesDone: 3 * MiB, bytesTotal: 8 * MiB, source: 'libsql' }, 2000],
      [{ type: 'progress', bytesDone: 6 * MiB, bytesTotal: 16 * MiB }, 4000],
    ];
    const [cliPercent, cliText] = afterBar(cliLine(events));
    const [bar, text] = tuiLines(events);
    assert.deepEqual([cliPercent, cliText], [afterBar(bar!)[0], text!.trimEnd()]);
    // 6 MiB in the 3 s since start: 2 MiB/s, 10 MiB left: 5 s.
    assert.equal(cliText, '6.0 MiB of 16.0 MiB · 2.0 MiB/s · ETA 0:05 · libsql');
    assert.equal(cliPercent, '37%');
  });

  test('the last event: 100%, ETA 0:00, in both', () => {
    const events: [EngineEvent, number][] = [
      [{ type: 'start', op: 'create' }, 0],
      [{ type: 'progress', bytesDone: 18 * MiB, bytesTotal: 18 * MiB, source: 'config' }, 9000],
    ];
    const [cliPercent, cliText] = afterBar(cliLine(events));
    const [bar, text] = tuiLines(events);
    assert.deepEqual([afterBar(bar!)[0], text!.trimEnd()], [cliPercent, cliText]);
    assert.equal(cliText, '18.0 MiB of 18.0 MiB · 2.0 MiB/s · ETA 0:00 · config');
  });
});
