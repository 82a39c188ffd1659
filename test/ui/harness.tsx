import './force-color.js';
import { render } from 'ink-testing-library';
import { stripVTControlCharacters } from 'node:util';
import React from 'react';
import type { ScreenRef } from '../../src/ui/context.js';
import { App } from '../../src/ui/app.js';
import type { TuiSettings } from '../../src/ui/engine.js';
import { SETTINGS, type FakeEngine } from './fake-engine.js';

export const KEY = {
  enter: '\r',
  esc: '\u001B',
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  space: ' ',
  tab: '\t',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  backspace: '\u007F',
  ctrlC: '\u0003',
} as const;

export const strip = (s: string) => stripVTControlCharacters(s);
/** A frame's text with box borders removed and whitespace collapsed, for sentences that wrap inside a box. */
export const flat = (frame: string) => frame.replace(/[│╭╮╰╯─┌┐└┘]/g, ' ').replace(/\s+/g, ' ');
export { cleanup } from 'ink-testing-library';

// ink-testing-library's Stdout reports a fixed 100 columns from a prototype
// getter. Override it on the prototype so a test can choose the width before
// Ink's first layout (each instance keeps the width it was created with).
let nextColumns = 100;
{
  const probe = render(<></>);
  const proto = Object.getPrototypeOf(probe.stdout);
  probe.unmount();
  Object.defineProperty(proto, 'columns', {
    configurable: true,
    get(this: { __columns?: number }) {
      return (this.__columns ??= nextColumns);
    },
  });
}

export type Matcher = string | RegExp | ((frame: string) => boolean);
const matches = (frame: string, m: Matcher) => (typeof m === 'string' ? frame.includes(m) : m instanceof RegExp ? m.test(frame) : m(frame));

export interface Ui {
  /** Last frame without ANSI codes. */
  frame(): string;
  /** Last frame as written, ANSI codes included. */
  rawFrame(): string;
  /** Every frame written so far, without ANSI codes. */
  allFrames(): string[];
  /** Every frame written so far, as written. */
  rawFrames(): string[];
  /** Writes one key (raw sequence) and lets Ink and React settle. */
  press(...keys: string[]): Promise<void>;
  /** Types text one character at a time, like a person. */
  type(text: string): Promise<void>;
  /** Resolves with the frame once it matches, or fails with the last frame. */
  waitFor(m: Matcher, timeoutMs?: number): Promise<string>;
  /** Waits until no new frame arrives for `quietMs` (at most 2 s). */
  settle(quietMs?: number): Promise<string>;
  /** True once the app exited (Ink released stdin). */
  exited(): boolean;
  stdin: { write(data: string): void; listenerCount(event: string): number };
  unmount(): void;
}

export const tick = (ms = 30) => new Promise<void>((r) => setTimeout(r, ms));

export function renderApp(engine: FakeEngine, opts: { settings?: TuiSettings; initial?: ScreenRef; columns?: number } = {}): Ui {
  nextColumns = opts.columns ?? 100;
  const inst = render(<App engine={engine.api} settings={opts.settings ?? SETTINGS} {...(opts.initial ? { initial: opts.initial } : {})} />);
  nextColumns = 100;
  const frame = () => strip(inst.lastFrame() ?? '');
  const ui: Ui = {
    frame,
    rawFrame: () => inst.lastFrame() ?? '',
    allFrames: () => inst.frames.map(strip),
    rawFrames: () => [...inst.frames],
    async press(...keys) {
      for (const k of keys) {
        const before = inst.frames.length;
        inst.stdin.write(k);
        // Wait for the re-render the key causes (if any), then for React's
        // effects, so the next key meets the new handlers and state.
        const until = Date.now() + 100;
        while (inst.frames.length === before && Date.now() < until) await tick(5);
        await tick(k === KEY.esc ? 20 : 10);
      }
    },
    async type(text) {
      await ui.press(...text);
    },
    async waitFor(m, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const f = frame();
        if (matches(f, m)) {
          // Ink subscribes useInput handlers in passive effects, which React runs
          // a moment after the frame is written: let them attach before the next key.
          await tick(20);
          return f;
        }
        if (Date.now() > until) {
          throw new Error(`Timed out after ${timeoutMs} ms waiting for ${String(m)} in the frame:\n${f}`);
        }
        await tick(10);
      }
    },
    async settle(quietMs = 60) {
      let count = inst.frames.length;
      // Capped: a spinner never goes quiet.
      for (const end = Date.now() + 2000; ; ) {
        await tick(quietMs);
        if (inst.frames.length === count || Date.now() > end) return frame();
        count = inst.frames.length;
      }
    },
    exited: () => inst.stdin.listenerCount('readable') === 0,
    stdin: inst.stdin,
    unmount: () => inst.unmount(),
  };
  return ui;
}

/** SGR sequences that set a colour (foreground, background, 256/true colour); bold, dim, inverse are not colour. */
export function colourCodes(raw: string): string[] {
  const found: string[] = [];
  for (const m of raw.matchAll(/\u001B\[([\d;]*)m/g)) {
    const params = m[1]!.split(';').filter(Boolean).map(Number);
    if (params.some((p) => (p >= 30 && p <= 39 && p !== 39) || (p >= 40 && p <= 49 && p !== 49) || (p >= 90 && p <= 97) || (p >= 100 && p <= 107))) found.push(m[0]);
  }
  return found;
}

/** Runs fn with NO_COLOR set (the theme is read when App renders). */
export async function withNoColor<T>(fn: () => Promise<T>): Promise<T> {
  process.env.NO_COLOR = '1';
  try {
    return await fn();
  } finally {
    delete process.env.NO_COLOR;
  }
}
