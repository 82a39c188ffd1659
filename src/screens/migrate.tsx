import { Box, Text, useInput } from 'ink';
import Spinner from 'ink-spinner';
import { homedir } from 'node:os';
import path from 'node:path';
import React, { useEffect, useRef, useState } from 'react';
import { createOptionsFrom, type MigrateResult, type MigrationStatus } from '../engine/index.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { TextInput } from '../ui/components/text-input.js';
import { useApp } from '../ui/context.js';
import { errorView, type ErrorView } from '../ui/operation-state.js';
import { useBackKeys } from '../ui/use-back.js';
import { useOperation } from '../ui/use-operation.js';

const STEPS = ['preflight', 'backup', 'init', 'mount', 'copy', 'verify', 'fsck', 'swap'] as const;
const LABEL: Record<(typeof STEPS)[number], string> = {
  preflight: 'Check gocryptfs, FUSE, free space, AICO stopped',
  backup: 'Full backup, verified',
  init: 'Create the encrypted filesystem',
  mount: 'Mount it',
  copy: 'Copy every file',
  verify: 'Verify every file and database through the mount',
  fsck: 'Unmount, gocryptfs -fsck',
  swap: 'Switch over: plaintext aside, encrypted home mounted',
};

type Stage = 'status' | 'dir' | 'password' | 'repeat' | 'backup-password' | 'run';

/** Status, then the migration step by step, a confirmation before the switch-over, the master key shown once. */
export function MigrateScreen() {
  const { engine, settings, nav, theme } = useApp();
  const [status, setStatus] = useState<MigrationStatus | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [stage, setStage] = useState<Stage>('status');
  const [cipherDir, setCipherDir] = useState(path.join(homedir(), 'aico-encrypted'));
  const [mismatch, setMismatch] = useState(false);
  const fsPassword = useRef<Buffer | null>(null);
  const [doneSteps, setDoneSteps] = useState<string[]>([]);
  const [current, setCurrent] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const answer = useRef<((yes: boolean) => void) | null>(null);
  const op = useOperation<MigrateResult>();
  const [busy, setBusy] = useState(false);

  const load = () =>
    engine.migrationStatus(settings.home).then(
      (s) => {
        setStatus(s);
        if (s.cipher_dir) setCipherDir(s.cipher_dir);
      },
      (e) => setError(errorView(e)),
    );
  useEffect(() => void load(), []);

  const start = (backupPassword: Buffer | null) => {
    setStage('run');
    const plan = createOptionsFrom(settings.config, { output: settings.outputDir }, { home: settings.home }).options;
    const fsPw = fsPassword.current!;
    void op
      .run((ctx) =>
        engine.migrateEncrypt(
          {
            home: settings.home,
            cipherDir,
            fsPassword: async () => Buffer.from(fsPw),
            backup: { ...plan, ...(backupPassword ? { password: async () => Buffer.from(backupPassword) } : {}) },
            beforeSwap: () =>
              new Promise<boolean>((resolve) => {
                answer.current = resolve;
                // Everything before the switch-over is done: no step is running while the question waits.
                setDoneSteps(STEPS.filter((s) => s !== 'swap'));
                setCurrent(null);
                setConfirming(true);
              }),
          },
          {
            ...ctx,
            onEvent: (e) => {
              ctx.onEvent?.(e);
              if (e.type === 'phase' && e.phase === 'migrate' && !e.parent) {
                const step = e.message.split(':')[0]!;
                setCurrent((prev) => {
                  if (prev && prev !== step) setDoneSteps((d) => (d.includes(prev) ? d : [...d, prev]));
                  return step;
                });
              }
            },
          },
        ),
      )
      .then(() => load());
  };

  const running = op.state.status === 'running';
  useInput(
    (input, key) => {
      if (confirming) {
        setConfirming(false);
        answer.current?.(input === 'y');
        return;
      }
      if (running && (key.escape || (key.ctrl && input === 'c'))) return op.cancel();
      if (stage !== 'status' || running || busy || !status) return;
      if ((input === 'e' || key.return) && status.state !== 'migrated') setStage('dir');
      else if (input === 'm' && status.state === 'migrated') {
        setBusy(true);
        void (status.mounted ? engine.unmountHome({ home: settings.home }) : engine.mountHome({ home: settings.home })).then(
          () => (setBusy(false), load()),
          (e) => (setBusy(false), setError(errorView(e))),
        );
      }
    },
    { isActive: stage === 'status' || stage === 'run' },
  );
  useBackKeys(!running && !confirming && (stage === 'status' || (stage === 'run' && op.state.status !== 'idle')), 'migrate');
  useInput((input, key) => key.ctrl && input === 'c' && nav.quit(), { isActive: stage === 'dir' || stage === 'password' || stage === 'repeat' || stage === 'backup-password' });

  const r = op.state.result;
  const finished = (s: string) => doneSteps.includes(s) || (r !== null && r !== undefined);
  return (
    <Box flexDirection="column">
      <Text bold>Encrypt the AICO home with gocryptfs</Text>
      {status ? (
        <Text wrap="truncate-end">
          {settings.home}: {status.state === 'not-migrated' ? 'plaintext (not migrated)' : status.state === 'migrated' ? `encrypted in ${status.cipher_dir}, ${status.mounted ? 'mounted' : 'NOT mounted'}` : `migration unfinished (after ${status.step})`}
        </Text>
      ) : (
        <Text>
          <Spinner type="line" /> Reading the migration state
        </Text>
      )}
      {status?.plaintext?.present ? <Text wrap="truncate-end">Plaintext copy kept at {status.plaintext.path} (aico backup migrate finalize deletes it)</Text> : null}
      {error ? <ErrorBox error={error} /> : null}
      {stage === 'dir' ? <TextInput label="Encrypted directory (new or empty): " initial={cipherDir} onSubmit={(v) => (setCipherDir(path.resolve(v || cipherDir)), setStage('password'))} onCancel={() => setStage('status')} /> : null}
      {stage === 'password' ? (
        <Box flexDirection="column">
          {mismatch ? <Text color={theme.error}>The two passwords differ; type it again.</Text> : null}
          <TextInput key="p1" label="New password for the encrypted home: " mask onSubmit={(v) => (v ? ((fsPassword.current = Buffer.from(v)), setStage('repeat')) : undefined)} onCancel={() => setStage('status')} />
        </Box>
      ) : null}
      {stage === 'repeat' ? (
        <TextInput
          key="p2"
          label="Repeat it:                            "
          mask
          onSubmit={(v) => {
            if (!fsPassword.current?.equals(Buffer.from(v))) {
              setMismatch(true);
              return setStage('password');
            }
            setMismatch(false);
            void engine.givenPassword({ file: settings.passwordFile, stored: true }).then(
              (g) => (g ? start(g.password) : setStage(settings.config.encrypt ? 'backup-password' : 'run')),
              () => setStage('backup-password'),
            );
          }}
          onCancel={() => setStage('status')}
        />
      ) : null}
      {stage === 'backup-password' ? <TextInput label="Password for the backup made first: " mask onSubmit={(v) => (v ? start(Buffer.from(v)) : undefined)} onCancel={() => setStage('status')} /> : null}
      {stage === 'run' || r ? (
        <Box flexDirection="column" marginTop={1}>
          {STEPS.map((s) => (
            <Text key={s}>
              {finished(s) ? <Text color={theme.ok}>✓</Text> : current === s && running ? <Spinner type="line" /> : '·'} {LABEL[s]}
            </Text>
          ))}
        </Box>
      ) : null}
      {confirming ? (
        <Box borderStyle="round" paddingX={1}>
          <Text>Everything is copied and verified. Switch AICO over to the encrypted home now? (AICO must stay stopped.) y = switch, any other key = stop here (resumable)</Text>
        </Box>
      ) : null}
      {op.state.status === 'failed' && op.state.error ? <ErrorBox error={op.state.error} /> : null}
      {op.state.status === 'cancelled' ? <Text>Stopped; the home is unchanged. Run it again to finish, or roll back (aico backup migrate rollback).</Text> : null}
      {r ? (
        <Box flexDirection="column" marginTop={1}>
          <Text color={theme.ok} bold>
            Done: {r.home} is encrypted (in {r.cipherDir}) and mounted where it was.
          </Text>
          {r.masterKey ? (
            <Box flexDirection="column" borderStyle="round" paddingX={1}>
              <Text bold>Master key, shown once: write it down and keep it away from this computer</Text>
              <Text>{r.masterKey}</Text>
            </Box>
          ) : null}
          <Text>After a reboot: aico backup migrate mount, before AICO starts.</Text>
        </Box>
      ) : null}
      <Footer
        hints={
          running ? [['esc', 'cancel']] : status?.state === 'migrated' ? [['m', status.mounted ? 'unmount' : 'mount'], ['q', 'back'], ['?', 'help']] : [['e', status?.state === 'in-progress' ? 'resume' : 'encrypt'], ['q', 'back'], ['?', 'help']]
        }
      />
    </Box>
  );
}
