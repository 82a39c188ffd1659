#!/usr/bin/env node
// Compression, encryption and file I/O share the libuv pool; the default 4
// threads would let disk writes queue behind frames on a busy machine.
process.env.UV_THREADPOOL_SIZE ??= '8';
const { main } = await import('../dist/cli.js');
await main(process.argv);
