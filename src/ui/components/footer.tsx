import { Box, Text } from 'ink';
import React from 'react';
import { useApp } from '../context.js';

/**
 * Key hints for the current screen, always last. A legend wider than the
 * terminal wraps between hints (never inside one), so "q quit" is never cut off at 80 columns.
 */
export function Footer({ hints }: { hints: [string, string][] }) {
  const { theme } = useApp();
  return (
    <Box marginTop={1} flexWrap="wrap" columnGap={2}>
      {hints.map(([key, what]) => (
        <Box key={key} flexShrink={0}>
          <Text>
            <Text bold color={theme.accent}>
              {key}
            </Text>
            <Text> {what}</Text>
          </Text>
        </Box>
      ))}
    </Box>
  );
}
