import { Text, useInput } from 'ink';
import React, { useEffect, useRef, useState } from 'react';

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
  const [value, setValueState] = useState(initial);
  // Several chunks can arrive before React re-renders: each must see the text the previous one left.
  const valueRef = useRef(initial);
  const done = useRef(false);
  // Re-arms after the render that follows a submit, so an input whose parent refused the value (kept it on screen) takes keys again.
  const [submits, setSubmits] = useState(0);
  useEffect(() => {
    done.current = false;
  }, [submits]);
  const setValue = (v: string) => {
    valueRef.current = v;
    setValueState(v);
  };
  const submit = (v: string) => {
    // Whatever follows the Enter in the same chunk (or a second Enter) must not submit twice.
    if (done.current) return;
    done.current = true;
    setSubmits((n) => n + 1);
    onSubmit(v);
  };
  useInput(
    (input, key) => {
      if (done.current) return;
      if (key.return) return submit(valueRef.current);
      if (key.escape) return onCancel?.();
      if (key.backspace || key.delete) return setValue(valueRef.current.slice(0, -1));
      if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return;
      // A paste, tmux or fast typing over SSH hands over text and its Enter as one chunk ("secret\r"):
      // the line ends at the first CR or LF, and what follows it is dropped (it would land in the next prompt).
      const end = input.search(/[\r\n]/);
      const clean = (end === -1 ? input : input.slice(0, end)).replace(/[\x00-\x1f\x7f]/g, '');
      if (end !== -1) return submit(valueRef.current + clean);
      if (clean) setValue(valueRef.current + clean);
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
