import { Box, Text, useInput } from 'ink';
import React, { useRef, useState } from 'react';
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
  /** Enter, with the items as the keys before it in the same read left them. */
  onSubmit?(items: CheckItem[]): void;
}) {
  const { theme } = useApp();
  const [cursor, setCursorState] = useState(0);
  // Keys can arrive several per read (fast typing, key repeat, tmux): act on the latest state, not the last render's.
  const cursorRef = useRef(0);
  const itemsRef = useRef(items);
  itemsRef.current = items;
  const setCursor = (c: number) => {
    cursorRef.current = c;
    setCursorState(c);
  };
  useInput(
    (input, key) => {
      const list = itemsRef.current;
      const at = cursorRef.current;
      if (key.upArrow || input === 'k') setCursor((at + list.length - 1) % list.length);
      else if (key.downArrow || input === 'j') setCursor((at + 1) % list.length);
      else if (input === ' ') {
        const item = list[at];
        if (item && !item.disabled) {
          const next = list.map((it, i) => (i === at ? { ...it, checked: !it.checked } : it));
          itemsRef.current = next;
          onChange(next);
        }
      } else if (key.return) onSubmit?.(itemsRef.current);
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
