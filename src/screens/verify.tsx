import { Box, Text, useInput } from 'ink';
import React, { useEffect } from 'react';
import type { VerifyResult } from '../engine/index.js';
import { DerivingKey } from '../ui/components/deriving-key.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { ProgressBar } from '../ui/components/progress-bar.js';
import { useApp } from '../ui/context.js';
import { PasswordGate } from '../ui/password-gate.js';
import { useBackKeys } from '../ui/use-back.js';
import { useOperation } from '../ui/use-operation.js';

function VerifyBody({ path, password }: { path: string; password: (() => Promise<Buffer>) | undefined }) {
  const { engine, passwords, verified, theme } = useApp();
  const op = useOperation<VerifyResult>();
  useEffect(() => {
    void op.run((ctx) => engine.verify({ path, password: op.deriving(password) }, ctx)).then((r) => {
      if (r) verified.set(path, r.ok ? 'ok' : 'failed');
    });
  }, [path]);
  const running = op.state.status === 'running';
  useInput((input, key) => {
    if (key.escape || (key.ctrl && input === 'c')) op.cancel();
  }, { isActive: running });
  useBackKeys(!running, 'verify');
  if (op.state.error) {
    if (op.state.error.code === 'WRONG_PASSWORD') passwords.delete(path);
    else if (op.state.status === 'failed') verified.set(path, 'failed');
  }
  const r = op.state.result;
  return (
    <Box flexDirection="column">
      <Text bold>Verify {path}</Text>
      {op.state.phase ? <Text>{op.state.phase}</Text> : null}
      {running && op.state.deriving ? <DerivingKey /> : null}
      {running && op.state.progress ? <ProgressBar progress={op.state.progress} /> : null}
      {op.state.status === 'cancelled' ? <Text>Cancelled; the backup was not changed.</Text> : null}
      {op.state.error && op.state.status === 'failed' ? <ErrorBox error={op.state.error} /> : null}
      {r?.ok ? (
        <Text color={theme.ok} bold>
          OK: every segment authenticated, {r.files} files match their SHA-256 and block hashes.
        </Text>
      ) : null}
      {r && !r.ok ? (
        <Box flexDirection="column">
          <Text color={theme.error} bold>
            FAILED: {r.problems.length} problem(s). Use another copy of this backup.
          </Text>
          {r.problems.slice(0, 10).map((p, i) => (
            <Text key={i}>
              {'  '}
              {p.code}: {p.message}
            </Text>
          ))}
        </Box>
      ) : null}
      <Footer hints={running ? [['esc', 'cancel']] : [['q', 'back'], ['?', 'help']]} />
    </Box>
  );
}

export function VerifyScreen({ path }: { path: string }) {
  return <PasswordGate path={path}>{(password) => <VerifyBody path={path} password={password} />}</PasswordGate>;
}
