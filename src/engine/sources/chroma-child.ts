/**
 * The process a Chroma validation server runs in: argv[2] is the chromadb
 * package's cli.mjs, the rest its arguments. The server blocks this
 * process's main thread, so a worker thread watches stdin, a pipe from the
 * process that started us: the kernel closes it when that process dies in
 * any way (SIGKILL and the OOM killer included), and the server dies with
 * it instead of serving a copy of the user's conversations to whoever
 * connects. The pipe exists before this process does, so there is no window
 * in which the parent could die unnoticed (unlike PR_SET_PDEATHSIG set after
 * exec, which Node cannot set anyway).
 */
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const WATCHDOG = `
const net = require('node:net');
const die = () => process.kill(process.pid, 'SIGKILL');
const stdin = new net.Socket({ fd: 0, readable: true, writable: false });
stdin.on('data', () => {});
stdin.on('close', die);
stdin.on('error', die);
`;

const [cli, ...args] = process.argv.slice(2);
if (!cli) throw new Error('usage: chroma-child CLI_PATH ARGS...');

const watchdog = new Worker(WATCHDOG, { eval: true });
await new Promise((resolve, reject) => {
  watchdog.once('online', resolve);
  watchdog.once('error', reject);
});
// A server that exits by itself (a lost port race) must let this process end.
watchdog.unref();

process.argv = [process.argv[0]!, cli, ...args];
await import(pathToFileURL(cli).href);
