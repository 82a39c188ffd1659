import { useInput } from 'ink';
import { useApp } from './context.js';

/** q or Esc goes back (quits from the first screen), ? opens help; off while a text field has the keyboard. */
export function useBackKeys(active: boolean, about: string): void {
  const { nav } = useApp();
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') nav.quit();
      else if (input === 'q' || key.escape) nav.pop();
      else if (input === '?') nav.push({ name: 'help', about });
    },
    { isActive: active },
  );
}
