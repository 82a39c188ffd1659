import { Box, Text, useInput, useStdout } from 'ink';
import Spinner from 'ink-spinner';
import React, { useCallback, useEffect, useRef, useState } from 'react';
import type { BackupEntry, ReadingProcess } from '../engine/index.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { useApp } from '../ui/context.js';
import { formatBytes } from '../ui/format.js';
import { errorView, type ErrorView } from '../ui/operation-state.js';

const when = (b: BackupEntry) => (b.created ? b.created.replace('T', ' ').slice(0, 19) : b.name.slice(12, 27));
const SHORT_TYPE: Record<string, string> = { full: 'full', incremental: 'incr', differential: 'diff' };
/** A restore's safety backup is a full backup of only what it replaced: not one to pick by mistake. */
const typeOf = (b: BackupEntry) => (b.purpose === 'pre-restore' ? 'safety' : b.type ? (SHORT_TYPE[b.type] ?? b.type) : '?');

/** The backups a restore of `b` reads, `b` first, down to its full backup, as far as the list shows them. */
function chainOf(b: BackupEntry, all: BackupEntry[]): BackupEntry[] {
  const chain = [b];
  for (let link = b; link.parent_id; ) {
    const parent = all.find((x) => x.id === link.parent_id);
    if (!parent || chain.includes(parent)) break;
    chain.push(parent);
    link = parent;
  }
  return chain;
}

/** What the selected backup builds on: a restore of it reads its whole chain. */
function chainLine(b: BackupEntry | undefined, all: BackupEntry[]): string | null {
  if (!b?.parent_id) return null;
  const chain = chainOf(b, all);
  const kind = b.type === 'differential' ? 'differential' : 'incremental';
  const parent = chain[1];
  if (b.chain_intact === false || !parent) {
    return `Selected: ${kind} on ${parent ? `the backup of ${when(parent)}` : `${b.parent_id}, which is missing`}; its chain is BROKEN: it cannot be restored until the missing backup is back.`;
  }
  return `Selected: ${kind} on the backup of ${when(parent)}; restoring it reads ${chain.length} backups (${chain.map((c) => typeOf(c)).join(' <- ')}).`;
}

/** A deleted backup another process still reads is news: its space comes back only when that reader closes it. */
const readersNote = (readers: ReadingProcess[] | null) =>
  readers && readers.length > 0
    ? ` It is still open in pid ${readers.map((r) => r.pid).join(', ')}, which reads it to the end; the space is freed when it closes it.`
    : '';

/** The home screen: backups in the backup directory, newest first, read from headers only. */
export function BackupsScreen() {
  const { engine, settings, nav, theme, verified, switchStore } = useApp();
  const stores = settings.stores?.includes(settings.outputDir) ? settings.stores : [settings.outputDir, ...(settings.stores ?? [])];
  const { stdout } = useStdout();
  const [backups, setBackups] = useState<BackupEntry[] | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [cursor, setCursorState] = useState(0);
  // Keys can arrive several per chunk (a fast typist, tmux, a paste): read the cursor from a ref, not the last render.
  const cursorRef = useRef(0);
  const setCursor = (f: (c: number) => number) => {
    cursorRef.current = f(cursorRef.current);
    setCursorState(cursorRef.current);
  };
  const backupsRef = useRef<BackupEntry[] | null>(null);
  backupsRef.current = backups;
  const [confirmDelete, setConfirmDelete] = useState<BackupEntry | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  // A schedule that fails or does not run is news on the first screen too.
  const [scheduleAlerts, setScheduleAlerts] = useState<string[]>([]);
  useEffect(() => {
    let live = true;
    engine.scheduleStatus(settings.home).then(
      (all) =>
        live &&
        setScheduleAlerts(
          all
            .filter((s) => s.overdue || s.state?.last_outcome === 'failed')
            .map((s) => `! Schedule ${s.schedule.name}: ${s.state?.last_outcome === 'failed' ? `last run FAILED (${s.state.last_error?.code})` : 'OVERDUE'}; s for details`),
        ),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [engine, settings.home]);

  const load = useCallback(async () => {
    try {
      const r = await engine.list({ dir: settings.outputDir });
      backupsRef.current = r.backups;
      setError(null);
      setBackups(r.backups);
      setCursor((c) => Math.min(c, Math.max(0, r.backups.length - 1)));
    } catch (e) {
      setError(errorView(e));
    }
  }, [engine, settings.outputDir]);
  useEffect(() => void load(), [load]);

  const rows = Math.max(3, (stdout?.rows ?? 24) - 9);
  useInput((input, key) => {
    const selected = backupsRef.current?.[cursorRef.current];
    if (confirmDelete) {
      if (input === 'y') {
        const target = confirmDelete;
        setConfirmDelete(null);
        void (async () => {
          let failed: ErrorView | null = null;
          try {
            const r = await engine.deleteBackups({ paths: [target.path] });
            setNotice(`Deleted ${target.name}.${readersNote(r.backups[0]?.readers ?? null)}`);
          } catch (e) {
            failed = errorView(e);
          }
          await load();
          if (failed) setError(failed);
        })();
      } else setConfirmDelete(null);
      return;
    }
    if (key.ctrl && input === 'c') return nav.quit();
    const n = backupsRef.current?.length ?? 0;
    if (key.upArrow || input === 'k') setCursor((c) => Math.max(0, c - 1));
    else if (key.downArrow || input === 'j') setCursor((c) => Math.min(Math.max(0, n - 1), c + 1));
    else if (key.pageUp) setCursor((c) => Math.max(0, c - rows));
    else if (key.pageDown) setCursor((c) => Math.min(Math.max(0, n - 1), c + rows));
    else if (input === 'c') nav.push({ name: 'create' });
    else if (input === 'x') nav.push({ name: 'cleanup' });
    else if (input === 's') nav.push({ name: 'schedules' });
    else if (input === 'm') nav.push({ name: 'migrate' });
    else if (input === 'g') void load();
    else if (input === 'o' && stores.length > 1) {
      setBackups(null);
      setError(null);
      setNotice(null);
      setCursor(() => 0);
      switchStore(stores[(stores.indexOf(settings.outputDir) + 1) % stores.length]!);
    }
    else if (input === '?') nav.push({ name: 'help', about: 'backups' });
    else if (input === 'q' || key.escape) nav.pop();
    else if (selected && (key.return || input === 'i')) nav.push({ name: 'info', path: selected.path });
    else if (selected && input === 'v') nav.push({ name: 'verify', path: selected.path });
    else if (selected && input === 'r') nav.push({ name: 'restore', path: selected.path });
    else if (selected && input === 'd') setConfirmDelete(selected);
  });

  const start = Math.max(0, Math.min(cursor - Math.floor(rows / 2), (backups?.length ?? 0) - rows));
  const visible = backups?.slice(start, start + rows) ?? [];
  // Wide enough for "safety" only when one is listed; the Databases column gives up the room.
  const typeWidth = backups?.some((b) => b.purpose === 'pre-restore') ? 6 : 4;
  const dbWidth = 24 - (typeWidth - 4);
  return (
    <Box flexDirection="column">
      <Text bold>
        Backups in {settings.outputDir}
        {backups ? ` (${backups.length})` : ''}
      </Text>
      {stores.length > 1 ? (
        <Text dimColor wrap="truncate-end">
          {`Store ${stores.indexOf(settings.outputDir) + 1} of ${stores.length} (o: next): `}
          {stores.map((s) => (s === settings.outputDir ? `[${s}]` : s)).join('  ')}
        </Text>
      ) : null}
      {error ? <ErrorBox error={error} /> : null}
      {!backups && !error ? (
        <Text>
          <Spinner type="line" /> Reading backup headers
        </Text>
      ) : null}
      {backups && backups.length === 0 ? <Text>No backups yet. Press c to create the first one.</Text> : null}
      {backups && backups.length > 0 ? (
        <Box flexDirection="column">
          <Text bold wrap="truncate-end">{`  Created              ${'Type'.padEnd(typeWidth)}  Size        Enc  ${'Databases'.padEnd(dbWidth)}  Verified`}</Text>
          {visible.map((b, i) => {
            const idx = start + i;
            const isSel = idx === cursor;
            const v = verified.get(b.path);
            const dbs = b.sources ? b.sources.join(',') : b.encrypted ? '(encrypted)' : '-';
            return (
              <Text key={b.path} color={isSel ? theme.accent : undefined} wrap="truncate-end">
                {isSel ? '>' : ' '} {when(b).padEnd(19)}  {typeOf(b).padEnd(typeWidth).slice(0, typeWidth)}  {formatBytes(b.bytes).padEnd(10)}  {b.encrypted ? 'yes' : 'no '}  {dbs.padEnd(dbWidth).slice(0, dbWidth)}  {v === 'ok' ? 'ok' : v === 'failed' ? 'FAILED' : '-'}
                {b.problem ? `  ! ${b.problem.code}` : b.chain_intact === false ? '  ! CHAIN BROKEN' : ''}
              </Text>
            );
          })}
        </Box>
      ) : null}
      {backups && chainLine(backups[cursor], backups) ? <Text>{chainLine(backups[cursor], backups)}</Text> : null}
      {confirmDelete ? (
        <Box borderStyle="round" paddingX={1}>
          <Text>
            Delete {confirmDelete.name} ({formatBytes(confirmDelete.bytes)})? This cannot be undone. y = delete, any other key = keep
          </Text>
        </Box>
      ) : null}
      {notice ? <Text color={theme.ok}>{notice}</Text> : null}
      {scheduleAlerts.map((a) => (
        <Text key={a} color={theme.error} wrap="truncate-end">
          {a}
        </Text>
      ))}
      <Footer hints={[['↑↓', 'select'], ['enter', 'info'], ['v', 'verify'], ['r', 'restore'], ['d', 'delete'], ['c', 'create'], ['x', 'clean up'], ['s', 'schedules'], ['m', 'migrate'], ['g', 'reload'], ...(stores.length > 1 ? [['o', 'other store'] as [string, string]] : []), ['?', 'help'], ['q', 'quit']]} />
    </Box>
  );
}
