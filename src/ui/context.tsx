import React, { createContext, useContext } from 'react';
import type { EngineApi, TuiSettings } from './engine.js';
import type { Theme } from './theme.js';

export interface Navigation {
  push(screen: ScreenRef): void;
  /** Back to the previous screen; quits from the first one. */
  pop(): void;
  replace(screen: ScreenRef): void;
  quit(): void;
}

export type ScreenRef =
  | { name: 'backups' }
  | { name: 'create' }
  | { name: 'info'; path: string }
  | { name: 'verify'; path: string }
  | { name: 'restore'; path?: string }
  | { name: 'help'; about: string };

export interface AppContext {
  engine: EngineApi;
  settings: TuiSettings;
  theme: Theme;
  nav: Navigation;
  /** Passwords typed in this session, per archive path, so one is asked once. */
  passwords: Map<string, Buffer>;
  /** Verification results of this session, per archive path. */
  verified: Map<string, 'ok' | 'failed'>;
}

const Ctx = createContext<AppContext | null>(null);

export function AppProvider({ value, children }: { value: AppContext; children: React.ReactNode }) {
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useApp(): AppContext {
  const v = useContext(Ctx);
  if (!v) throw new Error('useApp outside AppProvider');
  return v;
}
