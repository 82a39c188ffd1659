import { Box, Text } from 'ink';
import React from 'react';
import { useApp } from '../context.js';

/** Key hints for the current screen, always on the last line. */
export function Footer({ hints }: { hints: [string, string][] }) {
  const { theme } = useApp();
  return (
    <Box marginTop={1}>
      <Text wrap="truncate-end">
        {hints.map(([key, what], i) => (
          <Text key={key}>
            {i > 0 ? '  ' : ''}
            <Text bold color={theme.accent}>
              {key}
            </Text>
            <Text> {what}</Text>
          </Text>
        ))}
      </Text>
    </Box>
  );
}
