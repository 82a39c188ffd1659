import { render } from 'ink';
import React from 'react';
import { AicoError } from './engine/index.js';
import { App } from './ui/app.js';
import { realEngine, type TuiSettings } from './ui/engine.js';
import { keyByKey } from './ui/key-stream.js';

/**
 * Starts the terminal UI. Loaded only when a TTY asks for it, so headless
 * runs never pay for React and Ink. Renders inline (no alternate screen), so
 * it behaves the same over SSH and leaves its last frame in the scrollback.
 */
export async function runTui(settings: TuiSettings): Promise<void> {
  // Ink redraws by moving the cursor up and erasing lines; a dumb terminal would print those codes
  // as garbage (or every frame in full). The commands do everything the UI does, in plain lines.
  if (process.env.TERM === 'dumb') {
    throw new AicoError('USAGE', 'The terminal UI needs a terminal that can move the cursor, and TERM=dumb cannot.', {
      hint: 'Use the commands instead ("aico backup --help" lists them), or set TERM to your terminal\'s type (e.g. TERM=xterm-256color).',
    });
  }
  const engine = await realEngine();
  const app = render(<App engine={engine} settings={settings} />, { exitOnCtrlC: false, stdin: keyByKey(process.stdin) });
  await app.waitUntilExit();
}
