import { Text } from 'ink';
import Spinner from 'ink-spinner';
import React from 'react';

/** PBKDF2 takes a fraction of a second with nothing else on screen: say what is happening. */
export function DerivingKey() {
  return (
    <Text>
      <Spinner type="line" /> Deriving the key…
    </Text>
  );
}
