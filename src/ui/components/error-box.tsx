import { Box, Text } from 'ink';
import React from 'react';
import { useApp } from '../context.js';

/** An error with what to do next; the code is shown so it can be looked up (docs/JSON.md). */
export function ErrorBox({ error }: { error: { code: string; message: string; hint?: string } }) {
  const { theme } = useApp();
  return (
    <Box borderStyle="round" borderColor={theme.error} flexDirection="column" paddingX={1}>
      <Text color={theme.error} bold>
        Error ({error.code})
      </Text>
      <Text>{error.message}</Text>
      {error.hint ? <Text>What to do: {error.hint}</Text> : null}
    </Box>
  );
}
