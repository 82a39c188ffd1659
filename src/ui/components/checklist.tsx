import { Box, Text, useInput } from 'ink';
import React, { useState } from 'react';
import { useApp } from '../context.js';

export interface CheckItem {
  id: string;
  label: string;
  detail?: string;
  checked: boolean;
  disabled?: boolean;
}

/** Keyboard checkboxes: up/down to move, space to tick, enter to accept. */
export function Checklist({
  items,
  active = true,
  onChange,
  onSubmit,
}: {
  items: CheckItem[];
  active?: boolean;
  onChange(items: CheckItem[]): void;
  onSubmit?(): void;
}) {
  const { theme } = useApp();
  const [cursor, setCursor] = useState(0);
  useInput(
    (input, key) => {
      if (key.upArrow || input === 'k') setCursor((c) => (c + items.length - 1) % items.length);
      else if (key.downArrow || input === 'j') setCursor((c) => (c + 1) % items.length);
      else if (input === ' ') {
        const item = items[cursor];
        if (item && !item.disabled) onChange(items.map((it, i) => (i === cursor ? { ...it, checked: !it.checked } : it)));
      } else if (key.return) onSubmit?.();
    },
    { isActive: active },
  );
  return (
    <Box flexDirection="column">
      {items.map((it, i) => (
        <Text key={it.id} dimColor={it.disabled && theme.dim} color={i === cursor && active ? theme.accent : undefined}>
          {i === cursor && active ? '>' : ' '} [{it.checked ? 'x' : ' '}] {it.label}
          {it.detail ? `  ${it.detail}` : ''}
        </Text>
      ))}
    </Box>
  );
}
