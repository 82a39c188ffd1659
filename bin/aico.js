#!/usr/bin/env node
import { spawn } from 'node:child_process';

// Compression, encryption and file I/O share the libuv pool; the default 4
// threads would let disk writes queue behind frames on a busy machine.
process.env.UV_THREADPOOL_SIZE ??= '8';

/**
 * glibc's malloc hands every freed block above its mmap threshold back to
 * the kernel, and the zstd binding allocates a fresh compression context and
 * output buffer (about 1-3 MiB) per 1 MiB frame: on the 1000 MiB bench home
 * that was 2-3 s of page faults per backup (a third of its time). These
 * settings keep such blocks in the heap for reuse (peak RSS unchanged, 151
 * vs 152 MiB for the archive writer). They only act at process start, so the
 * commands that stream an archive run in a child that has them.
 */
const MALLOC = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '4194304', MALLOC_TRIM_THRESHOLD_: '33554432' };
const STREAMING = new Set(['create', 'restore', 'verify', 'tui']);

function streams(argv) {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--version')) return false;
  // No command at all opens the TUI, which creates and restores too.
  return words.length === 0 || words.some((w) => STREAMING.has(w));
}

if (process.platform === 'linux' && process.env.MALLOC_MMAP_THRESHOLD_ === undefined && streams(process.argv)) {
  // fd 3 stays open as long as this process lives: the child ends itself when it closes (a SIGKILL here).
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, ...MALLOC, AICO_PARENT_FD: '3' },
  });
  // Signals are passed on and this process waits for the child's exit. Ctrl-C in a terminal already
  // reaches the child (same process group): passing it on too would make it a second Ctrl-C.
  const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT']) {
    process.on(signal, () => {
      if (!(signal === 'SIGINT' && terminal)) child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
} else {
  if (process.env.AICO_PARENT_FD) {
    const { Socket } = await import('node:net');
    const parent = new Socket({ fd: Number(process.env.AICO_PARENT_FD), readable: true, writable: false });
    delete process.env.AICO_PARENT_FD;
    parent.on('error', () => {});
    parent.on('close', () => process.kill(process.pid, 'SIGKILL'));
    parent.resume();
    parent.unref();
  }
  const { main } = await import('../dist/cli.js');
  await main(process.argv);
}
