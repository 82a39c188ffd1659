import { Text, useInput } from 'ink';
import React, { useState } from 'react';

/**
 * A one-line input. With `mask`, every character shows as "*" and the value
 * is kept only in this component until submitted.
 */
export function TextInput({
  label,
  initial = '',
  mask = false,
  active = true,
  onSubmit,
  onCancel,
}: {
  label: string;
  initial?: string;
  mask?: boolean;
  active?: boolean;
  onSubmit(value: string): void;
  onCancel?(): void;
}) {
  const [value, setValue] = useState(initial);
  useInput(
    (input, key) => {
      if (key.return) return onSubmit(value);
      if (key.escape) return onCancel?.();
      if (key.backspace || key.delete) return setValue((v) => v.slice(0, -1));
      if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
      // Pasted text arrives as one chunk; strip newlines and other control characters.
      const clean = input.replace(/[\x00-\x1f\x7f]/g, '');
      if (clean) setValue((v) => v + clean);
    },
    { isActive: active },
  );
  return (
    <Text>
      {label}
      {mask ? '*'.repeat(value.length) : value}
      {active ? <Text inverse> </Text> : null}
    </Text>
  );
}
