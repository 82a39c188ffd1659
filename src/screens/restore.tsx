import { Box, Text, useInput } from 'ink';
import Spinner from 'ink-spinner';
import React, { useEffect, useRef, useState } from 'react';
import { unitOf as engineUnitOf, type BackupEntry, type InfoResult, type PreparedRestore, type RestoreResult } from '../engine/index.js';
import { Checklist, type CheckItem } from '../ui/components/checklist.js';
import { DerivingKey } from '../ui/components/deriving-key.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { ProgressBar } from '../ui/components/progress-bar.js';
import { TextInput } from '../ui/components/text-input.js';
import { useApp } from '../ui/context.js';
import { formatBytes } from '../ui/format.js';
import { PasswordGate } from '../ui/password-gate.js';
import { useBackKeys } from '../ui/use-back.js';
import { useOperation } from '../ui/use-operation.js';


type Step = 'select' | 'target' | 'preview' | 'confirm' | 'run';

function describe(u: RestoreResult['units'][number]): string {
  const c = u.validation?.counts;
  const counts = c?.tables
    ? `${Object.values(c.tables).reduce((a, b) => a + b, 0)} rows`
    : c?.collections
      ? `${Object.values(c.collections).reduce((a, b) => a + b, 0)} records`
      : c?.entries !== undefined
        ? `${c.entries} entries`
        : '';
  return `${u.name.padEnd(9)} ${u.action.padEnd(8)} ${formatBytes(u.bytes).padStart(10)}  ${u.validation ? `validated ${counts}` : ''}${u.skipped.length ? ` kept ${u.skipped.length} existing` : ''}`;
}

function RestoreFlow({ path, password }: { path: string; password: (() => Promise<Buffer>) | undefined }) {
  const { engine, settings, theme, nav, passwords } = useApp();
  const meta = useOperation<InfoResult>();
  const preview = useOperation<PreparedRestore>();
  const run = useOperation<RestoreResult>();
  // The previewed restore, staged and validated, waiting for y; committing it does not read the archive again.
  const prepared = useRef<PreparedRestore | null>(null);
  // A new preview waits for the last one to let go of the target's lock and staging (same process, same names).
  const discarding = useRef<Promise<void>>(Promise.resolve());
  const mounted = useRef(true);
  const discard = () => {
    const p = prepared.current;
    prepared.current = null;
    if (p) discarding.current = p.discard().catch(() => {});
  };
  useEffect(
    () => () => {
      mounted.current = false;
      discard();
    },
    [],
  );
  const [items, setItems] = useState<CheckItem[]>([]);
  const [step, setStep] = useState<Step>('select');
  const [inPlace, setInPlace] = useState(true);
  const [target, setTarget] = useState('');
  const [merge, setMerge] = useState(false);
  const [field, setField] = useState(0);

  useEffect(() => {
    void meta.run((ctx) => engine.info({ path, password: meta.deriving(password) }, ctx)).then((r) => {
      if (!r) return;
      const units = [...new Set(Object.keys(r.metadata.databases).map((n) => engineUnitOf(n)))];
      setItems(units.map((u) => ({ id: u, label: u, detail: formatBytes(Object.entries(r.metadata.databases).filter(([n]) => (engineUnitOf(n)) === u).reduce((a, [, s]) => a + s.size_bytes, 0)), checked: true })));
    });
  }, [path]);
  if (meta.state.error?.code === 'WRONG_PASSWORD') passwords.delete(path);

  const options = (list = items) => ({
    path,
    password,
    home: settings.home,
    target: inPlace ? undefined : target,
    databases: list.filter((i) => i.checked).map((i) => i.id),
    merge,
    safetyBackupDir: settings.outputDir,
  });
  const startPreview = (list = items) => {
    if (!list.some((i) => i.checked)) return;
    setStep('preview');
    void preview.run(async (ctx) => {
      await discarding.current;
      const p = await engine.prepareRestore(options(list), ctx);
      prepared.current = p;
      // Left while it was being prepared: nobody can confirm it any more.
      if (!mounted.current) discard();
      return p;
    });
  };

  // Field 0 is the checklist; 1 target; 2 mode.
  useInput(
    (input, key) => {
      if (key.tab) setField((f) => (f + 1) % 3);
      else if (field === 1 && (input === ' ' || key.leftArrow || key.rightArrow)) {
        if (inPlace) setStep('target');
        else setInPlace(true);
      } else if (field === 2 && (input === ' ' || key.leftArrow || key.rightArrow)) setMerge((m) => !m);
      else if (field !== 0 && key.return) startPreview();
    },
    { isActive: step === 'select' && meta.state.status === 'done' },
  );
  useInput(
    (input, key) => {
      if (preview.state.status === 'done' && key.return) setStep('confirm');
      else if (key.escape || input === 'q') (discard(), preview.reset(), setStep('select'));
    },
    { isActive: step === 'preview' && preview.state.status !== 'running' },
  );
  useInput(
    (input) => {
      const p = prepared.current;
      if (input === 'y' && p) {
        prepared.current = null;
        setStep('run');
        void run.run((ctx) => p.commit(ctx));
      } else (discard(), setStep('select'));
    },
    { isActive: step === 'confirm' },
  );
  const running = run.state.status === 'running' || preview.state.status === 'running';
  useInput(
    (input, key) => {
      if (key.escape || (key.ctrl && input === 'c')) (run.cancel(), preview.cancel());
    },
    { isActive: running },
  );
  useInput(
    (input, key) => {
      if (key.return || key.escape || input === 'q') nav.pop();
    },
    { isActive: step === 'run' && !running },
  );
  // The checklist uses space and the arrows only, so q, Esc and ? work on it too (also after a failed read).
  useBackKeys(step === 'select', 'restore');

  if (step === 'target') {
    return (
      <TextInput
        label="Restore into directory: "
        initial={target}
        onSubmit={(v) => {
          if (v) (setTarget(v), setInPlace(false));
          setStep('select');
        }}
        onCancel={() => setStep('select')}
      />
    );
  }
  const where = inPlace ? `in place (${settings.home})` : target;
  return (
    <Box flexDirection="column">
      <Text bold>Restore {path}</Text>
      {meta.state.status === 'running' && meta.state.deriving ? <DerivingKey /> : null}
      {meta.state.status === 'running' && !meta.state.deriving ? (
        <Text>
          <Spinner type="line" /> Reading the backup
        </Text>
      ) : null}
      {meta.state.error ? <ErrorBox error={meta.state.error} /> : null}
      {step === 'select' && meta.state.status === 'done' ? (
        <Box flexDirection="column">
          <Text bold={field === 0}>{field === 0 ? '>' : ' '} Databases (space ticks, tab to the next field)</Text>
          <Checklist items={items} active={field === 0} onChange={setItems} onSubmit={startPreview} />
          {items.some((i) => i.checked) ? null : <Text color={theme.warn}>Tick at least one database.</Text>}
          <Text color={field === 1 ? theme.accent : undefined}>{field === 1 ? '>' : ' '} Target  {where} {field === 1 ? '(space to change)' : ''}</Text>
          <Text color={field === 2 ? theme.accent : undefined}>{field === 2 ? '>' : ' '} Mode    {merge ? 'merge: add what is missing, keep what exists' : 'replace: what exists is saved first, then replaced'}</Text>
          <Footer hints={[['space', 'tick/change'], ['tab', 'next field'], ['enter', 'preview'], ['?', 'help'], ['q', 'back']]} />
        </Box>
      ) : null}
      {step === 'preview' || step === 'confirm' ? (
        <Box flexDirection="column">
          <Text bold>Preview (dry run: nothing has changed yet)</Text>
          {preview.state.status === 'running' ? <Text>{preview.state.phase ?? 'Checking'}</Text> : null}
          {preview.state.progress && preview.state.status === 'running' ? <ProgressBar progress={preview.state.progress} /> : null}
          {preview.state.status === 'cancelled' ? <Text>Cancelled; nothing was changed.</Text> : null}
          {preview.state.error && preview.state.status === 'failed' ? <ErrorBox error={preview.state.error} /> : null}
          {preview.state.result?.preview.units.map((u) => <Text key={u.name}>  {describe(u)}</Text>)}
          {step === 'confirm' ? (
            <Text color={theme.warn} bold>
              Restore {where} now? y = yes, any other key = no
            </Text>
          ) : (
            <Footer hints={preview.state.status === 'done' ? [['enter', 'continue'], ['esc', 'back']] : [['esc', 'back']]} />
          )}
        </Box>
      ) : null}
      {step === 'run' ? (
        <Box flexDirection="column">
          {run.state.phase ? <Text>{run.state.phase}</Text> : null}
          {run.state.progress && running ? <ProgressBar progress={run.state.progress} /> : null}
          {run.state.warnings.map((w, i) => (
            <Text key={i} color={theme.warn}>
              warning: {w.message}
            </Text>
          ))}
          {run.state.status === 'cancelled' ? <Text color={theme.warn}>Cancelled; the target was left as it was.</Text> : null}
          {run.state.error && run.state.status === 'failed' ? <ErrorBox error={run.state.error} /> : null}
          {run.state.result ? (
            <Box flexDirection="column">
              <Text color={theme.ok} bold>
                Restored into {run.state.result.target}
              </Text>
              {run.state.result.units.map((u) => <Text key={u.name}>  {describe(u)}</Text>)}
              {run.state.result.safetyBackup ? <Text>  What was replaced is saved in {run.state.result.safetyBackup}</Text> : null}
            </Box>
          ) : null}
          <Footer hints={running ? [['esc', 'cancel']] : [['enter', 'back']]} />
        </Box>
      ) : null}
    </Box>
  );
}

/** Pick a backup first when none was chosen on the list. */
function Picker({ onPick }: { onPick(path: string): void }) {
  const { engine, settings } = useApp();
  const [backups, setBackups] = useState<BackupEntry[] | null>(null);
  const [cursor, setCursor] = useState(0);
  useEffect(() => void engine.list({ dir: settings.outputDir }).then((r) => setBackups(r.backups)), [engine]);
  useInput((input, key) => {
    if (key.upArrow) setCursor((c) => Math.max(0, c - 1));
    else if (key.downArrow) setCursor((c) => Math.min((backups?.length ?? 1) - 1, c + 1));
    else if (key.return && backups?.[cursor]) onPick(backups[cursor]!.path);
  });
  useBackKeys(true, 'restore');
  return (
    <Box flexDirection="column">
      <Text bold>Restore: pick a backup</Text>
      {backups?.map((b, i) => (
        <Text key={b.path}>
          {i === cursor ? '>' : ' '} {b.name}
        </Text>
      ))}
      <Footer hints={[['enter', 'choose'], ['q', 'back']]} />
    </Box>
  );
}

export function RestoreScreen({ path }: { path?: string }) {
  const [chosen, setChosen] = useState(path);
  if (!chosen) return <Picker onPick={setChosen} />;
  return <PasswordGate path={chosen}>{(password) => <RestoreFlow path={chosen} password={password} />}</PasswordGate>;
}
