import { Box, Text, useInput } from 'ink';
import Spinner from 'ink-spinner';
import React, { useEffect, useState } from 'react';
import type { GivenPassword } from '../engine/index.js';
import { ErrorBox } from './components/error-box.js';
import { TextInput } from './components/text-input.js';
import { useApp } from './context.js';
import { errorView, type ErrorView } from './operation-state.js';

export const SOURCE_LABEL: Record<GivenPassword['source'], string> = {
  file: 'the password file',
  env: '$AICO_BACKUP_PASSWORD',
  keyring: 'the stored backup password',
};

/**
 * An archive's password, found as the CLI finds it (--password-file,
 * $AICO_BACKUP_PASSWORD, the stored one) or else asked for once per session
 * (masked). Renders children with a provider once the password is known, or
 * at once for an unencrypted archive.
 */
export function PasswordGate({
  path,
  children,
}: {
  path: string;
  children: (password: (() => Promise<Buffer>) | undefined) => React.ReactNode;
}) {
  const { engine, settings, passwords, givenPasswords, nav } = useApp();
  const encrypted = path.endsWith('.enc');
  // A given password this session that is gone from `passwords` was refused by the archive: ask instead of taking it again.
  const refused = !passwords.has(path) ? givenPasswords.get(path) : undefined;
  const [step, setStep] = useState<'looking' | 'ask' | 'known'>(() => (!encrypted || passwords.has(path) ? 'known' : refused ? 'ask' : 'looking'));
  const [lookupError, setLookupError] = useState<ErrorView | null>(null);
  useEffect(() => {
    if (step !== 'looking') return;
    let live = true;
    engine.givenPassword({ file: settings.passwordFile, stored: true }).then(
      (given) => {
        if (!live) return;
        if (given) {
          passwords.set(path, given.password);
          givenPasswords.set(path, given.source);
        }
        setStep(given ? 'known' : 'ask');
      },
      (error) => {
        if (!live) return;
        setLookupError(errorView(error));
        setStep('ask');
      },
    );
    return () => {
      live = false;
    };
  }, []);
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') nav.quit();
      else if (step === 'looking' && (key.escape || input === 'q')) nav.pop();
    },
    { isActive: step !== 'known' },
  );
  if (!encrypted) return <>{children(undefined)}</>;
  const known = passwords.get(path);
  if (step === 'known' && known) return <>{children(async () => Buffer.from(known))}</>;
  if (step === 'looking') {
    return (
      <Text>
        <Spinner type="line" /> Looking for the backup password
      </Text>
    );
  }
  return (
    <Box flexDirection="column">
      {lookupError ? <ErrorBox error={lookupError} /> : null}
      <Text>{refused ? `The password from ${SOURCE_LABEL[refused]} does not open this backup.` : 'This backup is encrypted.'}</Text>
      <TextInput
        label="Password: "
        mask
        onSubmit={(value) => {
          passwords.set(path, Buffer.from(value));
          givenPasswords.delete(path);
          setStep('known');
        }}
        onCancel={() => nav.pop()}
      />
      <Text dimColor>Enter to continue, Esc to go back.</Text>
    </Box>
  );
}
