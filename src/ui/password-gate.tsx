import { Box, Text, useInput } from 'ink';
import React from 'react';
import { TextInput } from './components/text-input.js';
import { useApp } from './context.js';

/**
 * Asks for an archive's password once per session (masked). Renders children
 * with a provider once the password is known, or at once for an
 * unencrypted archive.
 */
export function PasswordGate({
  path,
  children,
}: {
  path: string;
  children: (password: (() => Promise<Buffer>) | undefined) => React.ReactNode;
}) {
  const { passwords, nav } = useApp();
  const [, rerender] = React.useState(0);
  const encrypted = path.endsWith('.enc');
  const known = passwords.get(path);
  useInput((input, key) => key.ctrl && input === 'c' && nav.quit(), { isActive: encrypted && !known });
  if (!encrypted) return <>{children(undefined)}</>;
  if (known) return <>{children(async () => Buffer.from(known))}</>;
  return (
    <Box flexDirection="column">
      <Text>This backup is encrypted.</Text>
      <TextInput
        label="Password: "
        mask
        onSubmit={(value) => {
          passwords.set(path, Buffer.from(value));
          rerender((n) => n + 1);
        }}
        onCancel={() => nav.pop()}
      />
      <Text dimColor>Enter to continue, Esc to go back.</Text>
    </Box>
  );
}
