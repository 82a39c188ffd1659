import { Box, Text, useStdout } from 'ink';
import React from 'react';
import { formatBytes, formatDuration } from '../format.js';
import { useApp } from '../context.js';
import type { Progress } from '../use-operation.js';

/** A bar with percent, throughput, ETA and the source being read; ASCII only, so it survives any terminal. */
export function ProgressBar({ progress }: { progress: Progress }) {
  const { theme } = useApp();
  const { stdout } = useStdout();
  const width = Math.max(10, Math.min(50, (stdout?.columns ?? 80) - 30));
  const fraction = progress.total ? Math.min(1, progress.done / progress.total) : 0;
  const filled = Math.round(fraction * width);
  return (
    <Box flexDirection="column">
      <Text>
        [<Text color={theme.accent}>{'#'.repeat(filled)}</Text>
        {'.'.repeat(width - filled)}] {progress.total ? `${Math.floor(fraction * 100)}%` : formatBytes(progress.done)}
      </Text>
      <Text>
        {formatBytes(progress.done)}
        {progress.total ? ` of ${formatBytes(progress.total)}` : ''} · {formatBytes(progress.rate)}/s
        {progress.etaSeconds !== null ? ` · ETA ${formatDuration(progress.etaSeconds * 1000)}` : ''}
        {progress.source ? ` · ${progress.source}` : ''}
      </Text>
    </Box>
  );
}
