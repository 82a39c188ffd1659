import { Box, Text, useInput, useStdout } from 'ink';
import Spinner from 'ink-spinner';
import React, { useEffect, useRef, useState } from 'react';
import { describeRules, formatBytes, formatInZone, keepRulesFrom, localTimeZone, type BackupEntry, type CleanupEntry, type CleanupResult } from '../engine/index.js';
import { DerivingKey } from '../ui/components/deriving-key.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { ProgressBar } from '../ui/components/progress-bar.js';
import { useApp } from '../ui/context.js';
import { errorView, type ErrorView } from '../ui/operation-state.js';
import { PasswordGate } from '../ui/password-gate.js';
import { useBackKeys } from '../ui/use-back.js';
import { useOperation } from '../ui/use-operation.js';

const SHORT: Record<string, string> = { full: 'full', incremental: 'incr', differential: 'diff' };

function row(b: CleanupEntry, timeZone: string, done: boolean): string {
  const verdict = b.keep ? (b.path ? 'keep' : 'WRITE') : done ? 'removed' : 'REMOVE';
  const type = b.purpose === 'pre-restore' ? 'safety' : (SHORT[b.type ?? ''] ?? b.type ?? '?');
  return `${verdict.padEnd(7)} ${formatInZone(b.created, timeZone)}  ${type.padEnd(6)} ${b.reasons.join('; ')}`;
}

/**
 * The configured retention policy over the backup directory: first a dry run
 * (the newest backup is verified, as the real run does), a preview of every
 * backup with keep or REMOVE and why, then an explicit y.
 */
function CleanupBody({ password, newest, onPasswordNeeded }: { password: (() => Promise<Buffer>) | undefined; newest: string; onPasswordNeeded?: () => void }) {
  const { engine, settings, passwords, theme } = useApp();
  const { stdout } = useStdout();
  const op = useOperation<CleanupResult>();
  const [stage, setStage] = useState<'preview' | 'confirm' | 'removing' | 'done'>('preview');
  const [scroll, setScroll] = useState(0);
  const { rules, from } = keepRulesFrom(settings.config, {});
  const timeZone = localTimeZone();
  const preview = useRef<CleanupResult | null>(null);
  const run = (dryRun: boolean) => op.run((ctx) => engine.cleanup({ dir: settings.outputDir, rules, timeZone, dryRun, password: op.deriving(password) }, ctx));

  useEffect(() => {
    void run(true).then((r) => {
      preview.current = r;
      if (r && r.removed > 0) setStage('confirm');
    });
  }, []);
  const running = op.state.status === 'running';
  // Tried first without a password: one is asked for only when something would go (and the newest backup must be verified).
  const needsPassword = op.state.error?.code === 'PASSWORD_REQUIRED' && onPasswordNeeded !== undefined;
  useEffect(() => {
    if (needsPassword) onPasswordNeeded!();
  }, [needsPassword]);
  if (op.state.error?.code === 'WRONG_PASSWORD') passwords.delete(newest);
  const result = op.state.result;
  const rows = Math.max(3, (stdout?.rows ?? 24) - 11);
  useInput(
    (input, key) => {
      if (running) {
        if (key.escape || (key.ctrl && input === 'c')) op.cancel();
        return;
      }
      const n = result?.backups.length ?? 0;
      if (key.downArrow || input === 'j') return setScroll((s) => Math.min(Math.max(0, n - rows), s + 1));
      if (key.upArrow || input === 'k') return setScroll((s) => Math.max(0, s - 1));
      if (stage !== 'confirm') return;
      if (input === 'y') {
        setStage('removing');
        void run(false).then(() => setStage('done'));
      } else setStage('preview');
    },
    { isActive: running || stage === 'confirm' || (result?.backups.length ?? 0) > rows },
  );
  useBackKeys(!running && stage !== 'confirm', 'cleanup');

  const shown = result ?? preview.current;
  const done = stage === 'done' && result && !result.dryRun;
  return (
    <Box flexDirection="column">
      <Text bold>Clean up {settings.outputDir}</Text>
      <Text>
        Policy {describeRules(rules)} ({from === 'config' ? 'retention: in core.yaml' : 'as given'}), periods in {timeZone}
      </Text>
      {running ? (
        <Text>
          <Spinner type="line" /> {op.state.phase ?? 'Reading the backups'}
        </Text>
      ) : null}
      {running && op.state.deriving ? <DerivingKey /> : null}
      {running && op.state.progress ? <ProgressBar progress={op.state.progress} /> : null}
      {op.state.status === 'failed' && op.state.error && !needsPassword ? <ErrorBox error={op.state.error} /> : null}
      {op.state.status === 'cancelled' ? <Text>Cancelled; {stage === 'removing' || stage === 'done' ? 'the backups not yet removed are untouched' : 'nothing was removed'}.</Text> : null}
      {shown && !running ? (
        <Box flexDirection="column" marginTop={1}>
          {shown.backups.slice(scroll, scroll + rows).map((b) => (
            <Text key={b.name} wrap="truncate-end" color={b.keep ? undefined : theme.error}>
              {row(b, shown.timeZone, Boolean(done))}
            </Text>
          ))}
          {shown.backups.length > rows ? <Text dimColor>{`(${scroll + 1}-${Math.min(shown.backups.length, scroll + rows)} of ${shown.backups.length}; up/down to scroll)`}</Text> : null}
        </Box>
      ) : null}
      {shown && !running && shown.backups.length === 0 ? <Text>No backups in this directory.</Text> : null}
      {shown && !running && shown.dryRun && shown.removed === 0 && shown.backups.length > 0 ? <Text color={theme.ok}>Nothing to remove: the policy keeps every backup.</Text> : null}
      {stage === 'confirm' && shown ? (
        <Box borderStyle="round" paddingX={1}>
          <Text>
            Remove {shown.removed} of {shown.backups.length} backups ({formatBytes(shown.bytes)})? {shown.verified ? `${shown.verified} verified. ` : ''}y = remove, any other key = keep them all
          </Text>
        </Box>
      ) : null}
      {done ? (
        <Text color={theme.ok}>
          Removed {result.removed} backup(s), freed {formatBytes(result.bytes)}.
        </Text>
      ) : null}
      <Footer hints={running ? [['esc', 'cancel']] : stage === 'confirm' ? [['y', 'remove'], ['any key', 'keep all']] : [['q', 'back'], ['?', 'help']]} />
    </Box>
  );
}

/** The newest ordinary backup: cleanup verifies it first, so its password is the one needed. */
export function CleanupScreen() {
  const { engine, settings } = useApp();
  const [newest, setNewest] = useState<BackupEntry | null | undefined>(undefined);
  const [error, setError] = useState<ErrorView | null>(null);
  const [gated, setGated] = useState(false);
  useEffect(() => {
    engine.list({ dir: settings.outputDir }).then(
      (r) => setNewest(r.backups.find((b) => b.purpose === 'backup' && !b.problem) ?? null),
      (e) => setError(errorView(e)),
    );
  }, []);
  useBackKeys(newest === null || error !== null, 'cleanup');
  if (error) return <ErrorBox error={error} />;
  if (newest === undefined) {
    return (
      <Text>
        <Spinner type="line" /> Reading backup headers
      </Text>
    );
  }
  if (newest === null) return <Text>No readable backup in {settings.outputDir}: nothing to clean up.</Text>;
  if (!gated) return <CleanupBody password={undefined} newest={newest.path} onPasswordNeeded={() => setGated(true)} />;
  return <PasswordGate path={newest.path}>{(password) => <CleanupBody password={password} newest={newest.path} />}</PasswordGate>;
}
