import { Box, useApp as useInkApp } from 'ink';
import React, { useMemo, useState } from 'react';
import { BackupsScreen } from '../screens/backups.js';
import { CleanupScreen } from '../screens/cleanup.js';
import { CreateScreen } from '../screens/create.js';
import { MigrateScreen } from '../screens/migrate.js';
import { ScheduleEditScreen } from '../screens/schedule-edit.js';
import { SchedulesScreen } from '../screens/schedules.js';
import { HelpScreen } from '../screens/help.js';
import { InfoScreen } from '../screens/info.js';
import { RestoreScreen } from '../screens/restore.js';
import { VerifyScreen } from '../screens/verify.js';
import { AppProvider, type AppContext, type ScreenRef } from './context.js';
import type { GivenPassword } from '../engine/index.js';
import type { EngineApi, TuiSettings } from './engine.js';
import { makeTheme } from './theme.js';

function Screen({ screen }: { screen: ScreenRef }) {
  switch (screen.name) {
    case 'backups':
      return <BackupsScreen />;
    case 'create':
      return <CreateScreen />;
    case 'cleanup':
      return <CleanupScreen />;
    case 'schedules':
      return <SchedulesScreen />;
    case 'migrate':
      return <MigrateScreen />;
    case 'schedule-edit':
      return <ScheduleEditScreen {...(screen.schedule ? { name: screen.schedule } : {})} />;
    case 'info':
      return <InfoScreen path={screen.path} />;
    case 'verify':
      return <VerifyScreen path={screen.path} />;
    case 'restore':
      return <RestoreScreen path={screen.path} />;
    case 'help':
      return <HelpScreen about={screen.about} />;
  }
}

/**
 * The whole TUI: a stack of screens over one engine. Screens are keyed by
 * their place in the stack so going back remounts the list (fresh data).
 */
export function App({ engine, settings, initial = { name: 'backups' } }: { engine: EngineApi; settings: TuiSettings; initial?: ScreenRef }) {
  const ink = useInkApp();
  const [stack, setStack] = useState<ScreenRef[]>([initial]);
  const [store] = useState(() => ({ passwords: new Map<string, Buffer>(), givenPasswords: new Map<string, GivenPassword['source']>(), verified: new Map<string, 'ok' | 'failed'>() }));
  const [outputDir, setOutputDir] = useState(settings.outputDir);
  const value = useMemo<AppContext>(
    () => ({
      engine,
      settings: { ...settings, outputDir },
      switchStore: setOutputDir,
      theme: makeTheme(),
      ...store,
      nav: {
        push: (s) => setStack((st) => [...st, s]),
        pop: () =>
          setStack((st) => {
            if (st.length <= 1) {
              ink.exit();
              return st;
            }
            return st.slice(0, -1);
          }),
        replace: (s) => setStack((st) => [...st.slice(0, -1), s]),
        quit: () => ink.exit(),
      },
    }),
    [engine, settings, outputDir, store, ink],
  );
  const top = stack[stack.length - 1]!;
  return (
    <AppProvider value={value}>
      <Box flexDirection="column">
        <Screen key={stack.length} screen={top} />
      </Box>
    </AppProvider>
  );
}
