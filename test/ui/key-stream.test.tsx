// What the terminal sends, as the TUI really reads it (keyByKey over stdin, then Ink): a line ends at
// the first CR or LF, wherever it is in a read, and a lone LF (a paste, `printf 'pw\n'`, Ctrl-J) is an Enter.
import './force-color.js';
import { Text, render as inkRender } from 'ink';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, test } from 'node:test';
import React from 'react';
import { TextInput } from '../../src/ui/components/text-input.js';
import { keyByKey, splitKeys } from '../../src/ui/key-stream.js';
import { tick } from './harness.js';

describe('splitKeys', () => {
  test('one read becomes single keys; CR, LF and CR LF are each one Enter ("\\r")', () => {
    assert.deepEqual(splitKeys('pw\r'), ['p', 'w', '\r']);
    assert.deepEqual(splitKeys('pw\n'), ['p', 'w', '\r']);
    assert.deepEqual(splitKeys('pw\r\n'), ['p', 'w', '\r']);
    assert.deepEqual(splitKeys('a\nb'), ['a', '\r', 'b']);
    assert.deepEqual(splitKeys('\n\n'), ['\r', '\r']);
  });

  test('escape sequences stay whole', () => {
    assert.deepEqual(splitKeys('j\u001B[Bk'), ['j', '\u001B[B', 'k']);
  });
});

/** A terminal's stdin as Ink reads it ('readable', then read() until null), like ink-testing-library's. */
class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write(data: string) {
    this.data = data;
    this.emit('readable');
  }
  read() {
    const d = this.data;
    this.data = null;
    return d;
  }
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

const unmounts: (() => void)[] = [];
afterEach(() => unmounts.splice(0).forEach((u) => u()));

/** A masked TextInput on Ink with the TUI's own stdin wrapper; returns what it submitted. */
async function input() {
  const stdin = new FakeStdin();
  const stdout = Object.assign(new EventEmitter(), { columns: 80, rows: 24, write: () => true });
  const submitted: string[] = [];
  const app = inkRender(
    <>
      <Text>prompt</Text>
      <TextInput label="Password: " mask onSubmit={(v) => submitted.push(v)} />
    </>,
    { stdin: keyByKey(stdin as unknown as NodeJS.ReadStream), stdout: stdout as never, stderr: stdout as never, debug: true, exitOnCtrlC: false, patchConsole: false },
  );
  unmounts.push(() => app.unmount());
  await tick(30);
  return {
    submitted,
    async send(text: string) {
      stdin.write(text);
      await tick(30);
    },
  };
}

describe('the TUI text input behind keyByKey', () => {
  test('text and a trailing LF in one read submit the text, once', async () => {
    const i = await input();
    await i.send('secret\n');
    assert.deepEqual(i.submitted, ['secret']);
  });

  test('text and a trailing CR, or CR LF, in one read submit the text, once', async () => {
    const a = await input();
    await a.send('secret\r');
    const b = await input();
    await b.send('secret\r\n');
    assert.deepEqual([a.submitted, b.submitted], [['secret'], ['secret']]);
  });

  test('a newline in the middle of a read submits what precedes it; the rest is not typed into the field', async () => {
    const i = await input();
    await i.send('abc\ndef');
    assert.deepEqual(i.submitted, ['abc']);
    // This field stays (nothing took the value away): Enter again submits what it holds, without "def".
    await i.send('\r');
    assert.deepEqual(i.submitted, ['abc', 'abc']);
  });
});
