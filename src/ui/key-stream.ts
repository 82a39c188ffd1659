/**
 * Ink hands each read from the terminal to useInput as one "keypress", split
 * only at escape sequences: "j " or "secret\r" (fast typing over SSH, tmux,
 * a paste) reaches a handler as a single string that matches no key, and is
 * lost. Splitting every read into single keys here fixes that for every
 * screen at once.
 */

const ESC = '\u001B';

/** Where the escape sequence starting at `i` ends (exclusive); an unfinished one runs to the end (Ink keeps it pending). */
function escapeEnd(s: string, i: number): number {
  let j = i + 1;
  if (s[j] === ESC) j++; // meta + a sequence
  if (j >= s.length) return s.length;
  const kind = s[j]!;
  if (kind === 'O') return Math.min(s.length, j + 2);
  if (kind !== '[') return j + (s.codePointAt(j)! > 0xffff ? 2 : 1); // meta + one character
  j++;
  if (s[j] === '[') j++; // legacy function keys: ESC [ [ A
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x40 && c <= 0x7e) return j + 1;
    if (c < 0x20 || c > 0x3f) return j; // not a CSI byte: the sequence ends here
  }
  return s.length;
}

/**
 * One read from the terminal, as the keys in it. CR, LF and CR LF are each one
 * Enter, sent as CR: Ink takes only CR for Enter, and a pasted line or a
 * password piped through a pty can end in a bare LF.
 */
export function splitKeys(chunk: string): string[] {
  const keys: string[] = [];
  for (let i = 0; i < chunk.length; ) {
    let end: number;
    if (chunk[i] === ESC) end = escapeEnd(chunk, i);
    else if (chunk[i] === '\r' && chunk[i + 1] === '\n') end = i + 2;
    else end = i + (chunk.codePointAt(i)! > 0xffff ? 2 : 1);
    keys.push(chunk[i] === '\r' || chunk[i] === '\n' ? '\r' : chunk.slice(i, end));
    i = end;
  }
  return keys;
}

/**
 * The terminal's stdin as Ink sees it, except that each read() returns one
 * key. Ink reads in a loop until read() returns null, so every key queued
 * here is delivered before it waits for the next 'readable'.
 */
export function keyByKey(stdin: NodeJS.ReadStream): NodeJS.ReadStream {
  const queue: string[] = [];
  const read = () => {
    while (queue.length === 0) {
      const chunk: string | Buffer | null = stdin.read();
      if (chunk === null) return null;
      queue.push(...splitKeys(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
    }
    return queue.shift()!;
  };
  return new Proxy(stdin, {
    get(target, prop) {
      if (prop === 'read') return read;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
