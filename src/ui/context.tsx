import React, { createContext, useContext } from 'react';
import type { GivenPassword } from '../engine/index.js';
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
  | { name: 'cleanup' }
  | { name: 'schedules' }
  | { name: 'migrate' }
  | { name: 'schedule-edit'; schedule?: string }
  | { name: 'info'; path: string }
  | { name: 'verify'; path: string }
  | { name: 'restore'; path?: string }
  | { name: 'help'; about: string };

export interface AppContext {
  engine: EngineApi;
  settings: TuiSettings;
  theme: Theme;
  nav: Navigation;
  /** Passwords of this session, per archive path (typed, or given as the CLI takes them), so one is asked once. A screen removes a wrong one. */
  passwords: Map<string, Buffer>;
  /** Where a password that was not typed came from, per archive path: once that one was wrong, the gate asks instead. */
  givenPasswords: Map<string, GivenPassword['source']>;
  /** Verification results of this session, per archive path. */
  verified: Map<string, 'ok' | 'failed'>;
  /** Makes another of settings.stores the place every screen works on. */
  switchStore: (location: string) => void;
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
