import { Box, Text, useInput } from 'ink';
import Spinner from 'ink-spinner';
import React, { useCallback, useEffect, useRef, useState } from 'react';
import type { RunDueResult, ScheduleStatus } from '../engine/index.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { useApp } from '../ui/context.js';
import { formatBytes } from '../ui/format.js';
import { errorView, type ErrorView } from '../ui/operation-state.js';
import { useBackKeys } from '../ui/use-back.js';
import { useOperation } from '../ui/use-operation.js';

/** "Wed 12-02 02:00", local: the list is narrow. */
export function shortWhen(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const d = new Date(iso);
  const parts = new Intl.DateTimeFormat('en-US', { weekday: 'short', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(d);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('weekday')} ${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

export function describeWhen(s: ScheduleStatus['schedule']): string {
  if (s.cron !== undefined) return `cron ${s.cron}`;
  return `${s.frequency} ${s.time}${s.frequency === 'weekly' ? ` ${s.day?.slice(0, 3)}` : s.frequency === 'monthly' ? ` day ${s.day_of_month ?? 1}` : ''}`;
}

function stateOf(s: ScheduleStatus): string {
  if (!s.schedule.enabled) return 'off';
  if (s.state?.last_outcome === 'failed') return s.overdue ? 'FAILED, late' : 'FAILED';
  return s.overdue ? 'OVERDUE' : 'ok';
}

/** The home's backup schedules: next and last run, state; new, edit, on/off, delete, run now. */
export function SchedulesScreen() {
  const { engine, settings, nav, theme } = useApp();
  const [list, setList] = useState<ScheduleStatus[] | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [cursor, setCursorState] = useState(0);
  const cursorRef = useRef(0);
  const listRef = useRef<ScheduleStatus[] | null>(null);
  const setCursor = (f: (c: number) => number) => {
    cursorRef.current = f(cursorRef.current);
    setCursorState(cursorRef.current);
  };
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const op = useOperation<RunDueResult>();

  const load = useCallback(async () => {
    try {
      const r = await engine.scheduleStatus(settings.home);
      listRef.current = r;
      setList(r);
      setError(null);
      setCursor((c) => Math.min(c, Math.max(0, r.length - 1)));
    } catch (e) {
      setError(errorView(e));
    }
  }, [engine, settings.home]);
  useEffect(() => void load(), [load]);

  const change = (name: string, what: 'enable' | 'disable' | 'delete') =>
    void engine.changeSchedule(settings.home, name, what).then(
      (r) => {
        setNotice(`Schedule "${name}" ${what === 'delete' ? 'deleted' : what === 'enable' ? 'enabled' : 'disabled'}.${r.timer.removed.length > 0 ? ' No schedule is enabled any more: the timer was removed.' : ''}`);
        return load();
      },
      (e) => setError(errorView(e)),
    );

  const running = op.state.status === 'running';
  useInput(
    (input, key) => {
      const selected = listRef.current?.[cursorRef.current];
      if (confirmDelete) {
        if (input === 'y') change(confirmDelete, 'delete');
        setConfirmDelete(null);
        return;
      }
      const n = listRef.current?.length ?? 0;
      if (key.upArrow || input === 'k') setCursor((c) => Math.max(0, c - 1));
      else if (key.downArrow || input === 'j') setCursor((c) => Math.min(Math.max(0, n - 1), c + 1));
      else if (input === 'n') nav.push({ name: 'schedule-edit' });
      else if (input === 'g') void load();
      else if (selected && (input === 'e' || key.return)) nav.push({ name: 'schedule-edit', schedule: selected.schedule.name });
      else if (selected && input === ' ') change(selected.schedule.name, selected.schedule.enabled ? 'disable' : 'enable');
      else if (selected && input === 'd') setConfirmDelete(selected.schedule.name);
      else if (selected && input === 'r') {
        setNotice(null);
        void op.run((ctx) => engine.runDue({ home: settings.home, force: [selected.schedule.name] }, ctx)).then(() => load());
      }
    },
    { isActive: !running },
  );
  useInput((input, key) => (key.escape || (key.ctrl && input === 'c') ? op.cancel() : undefined), { isActive: running });
  useBackKeys(!running && !confirmDelete, 'schedules');

  const selected = list?.[cursor];
  const run = op.state.result?.runs[0];
  return (
    <Box flexDirection="column">
      <Text bold>Backup schedules of {settings.home}</Text>
      {error ? <ErrorBox error={error} /> : null}
      {!list && !error ? (
        <Text>
          <Spinner type="line" /> Reading the schedules
        </Text>
      ) : null}
      {list && list.length === 0 ? <Text>No schedules yet. Press n to create one.</Text> : null}
      {list && list.length > 0 ? (
        <Box flexDirection="column" marginTop={1}>
          <Text bold wrap="truncate-end">{`  ${'Name'.padEnd(12)} ${'When'.padEnd(20)} ${'Next run'.padEnd(15)} ${'Last success'.padEnd(15)} State`}</Text>
          {list.map((s, i) => (
            <Text key={s.schedule.name} color={i === cursor ? theme.accent : stateOf(s) === 'ok' || stateOf(s) === 'off' ? undefined : theme.error} wrap="truncate-end">
              {i === cursor ? '>' : ' '} {s.schedule.name.padEnd(12).slice(0, 12)} {describeWhen(s.schedule).padEnd(20).slice(0, 20)} {(s.schedule.enabled ? shortWhen(s.next[0]) : '-').padEnd(15)} {shortWhen(s.state?.last_success).padEnd(15)} {stateOf(s)}
            </Text>
          ))}
        </Box>
      ) : null}
      {selected ? (
        <Box flexDirection="column" marginTop={1}>
          <Text wrap="truncate-end">
            {selected.schedule.name}: {selected.schedule.type} backups to {selected.schedule.output_dir ?? settings.outputDir}; next three: {selected.schedule.enabled ? selected.next.map(shortWhen).join(', ') : '(disabled)'}
          </Text>
          <Text wrap="truncate-end">
            Last try {shortWhen(selected.state?.last_attempt)}
            {selected.state?.last_outcome === 'failed' ? `: FAILED ${selected.state.last_error?.code}: ${selected.state.last_error?.message}` : selected.state?.last_outcome === 'ok' ? ': ok' : ''}
          </Text>
        </Box>
      ) : null}
      {running ? (
        <Text>
          <Spinner type="line" /> {op.state.phase ?? 'Running the schedule'}
        </Text>
      ) : null}
      {op.state.status === 'failed' && op.state.error ? <ErrorBox error={op.state.error} /> : null}
      {run && !running ? (
        run.ok ? (
          <Text color={theme.ok}>
            Ran {run.name}: {run.backup!.type} backup {run.backup!.path} ({formatBytes(run.backup!.bytes)}){run.cleanup ? `; cleanup removed ${run.cleanup.removed}` : ''}.
          </Text>
        ) : (
          <Text color={theme.error}>
            {run.name} FAILED: {run.error?.code}: {run.error?.message}
          </Text>
        )
      ) : null}
      {confirmDelete ? (
        <Box borderStyle="round" paddingX={1}>
          <Text>Delete the schedule "{confirmDelete}"? Its backups stay. y = delete, any other key = keep</Text>
        </Box>
      ) : null}
      {notice ? <Text color={theme.ok}>{notice}</Text> : null}
      <Footer hints={running ? [['esc', 'cancel']] : [['↑↓', 'select'], ['n', 'new'], ['e', 'edit'], ['space', 'on/off'], ['d', 'delete'], ['r', 'run now'], ['q', 'back'], ['?', 'help']]} />
    </Box>
  );
}
