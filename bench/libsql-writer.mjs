// AICO's writer on its libSQL database, connected as AICO connects (npm libsql,
// PRAGMA key 'x"<hex>"', WAL, synchronous FULL, 30 s busy timeout): one log row
// per transaction every INTERVAL_MS. The key comes in the environment
// (BENCH_LIBSQL_KEY), not argv, so it never shows in `ps`.
//   node libsql-writer.mjs DB [INTERVAL_MS]
// Prints "ready" after its first commits; on SIGUSR2 prints one JSON line with
// the commits since the last report, the longest and the 99th percentile.
import Database from 'libsql';

const [file, interval = '5'] = process.argv.slice(2);
const key = process.env.BENCH_LIBSQL_KEY;
if (!file || !/^[0-9a-f]{64}$/.test(key ?? '')) {
  console.error('usage: BENCH_LIBSQL_KEY=<64 hex> libsql-writer.mjs DB [INTERVAL_MS]');
  process.exit(2);
}
const db = new Database(file);
db.exec(`PRAGMA key = 'x"${key}"'`);
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 30000');
const insert = db.prepare("INSERT INTO logs (timestamp, level, subsystem, module, topic, message) VALUES (?, 'INFO', 'backend', 'bench', 'logs/bench', ?)");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let samples = [];
process.on('SIGUSR2', () => {
  const sorted = samples.sort((a, b) => a - b);
  const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0;
  process.stdout.write(`${JSON.stringify({ commits: sorted.length, longest_ms: sorted.at(-1) ?? 0, p99_ms: p99 })}\n`);
  samples = [];
});
for (let n = 1; ; n++) {
  const t = performance.now();
  insert.run(new Date().toISOString(), 'a log line written while a backup runs');
  samples.push(performance.now() - t);
  if (n === 10) process.stdout.write('ready\n');
  await sleep(Number(interval));
}
