import { Box, Text, useStdout } from 'ink';
import React from 'react';
import { formatBytes, progressFraction, progressPercent, progressText } from '../format.js';
import { useApp } from '../context.js';
import type { Progress } from '../use-operation.js';

/** A bar with percent, then the CLI's own progress text (size, rate, ETA, source); ASCII only, so it survives any terminal. */
export function ProgressBar({ progress }: { progress: Progress }) {
  const { theme } = useApp();
  const { stdout } = useStdout();
  const width = Math.max(10, Math.min(50, (stdout?.columns ?? 80) - 30));
  const filled = Math.round(progressFraction(progress) * width);
  return (
    <Box flexDirection="column">
      <Text>
        [<Text color={theme.accent}>{'#'.repeat(filled)}</Text>
        {'.'.repeat(width - filled)}] {progressPercent(progress) ?? formatBytes(progress.done)}
      </Text>
      <Text>{progressText(progress)}</Text>
    </Box>
  );
}
