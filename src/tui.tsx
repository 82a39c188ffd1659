import { render } from 'ink';
import React from 'react';
import { App } from './ui/app.js';
import { realEngine, type TuiSettings } from './ui/engine.js';

/**
 * Starts the terminal UI. Loaded only when a TTY asks for it, so headless
 * runs never pay for React and Ink. Renders inline (no alternate screen), so
 * it behaves the same over SSH and leaves its last frame in the scrollback.
 */
export async function runTui(settings: TuiSettings): Promise<void> {
  const engine = await realEngine();
  const app = render(<App engine={engine} settings={settings} />, { exitOnCtrlC: false });
  await app.waitUntilExit();
}
