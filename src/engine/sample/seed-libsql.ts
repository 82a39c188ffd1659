import { applyAicoSettings, openLibsql } from '../sources/libsql-db.js';
import type { Prng } from './prng.js';
import { sentence } from './words.js';

// Tables named and shaped like AICO's own (shared/aico/data/schemas/core.py), written here in short.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (uuid TEXT PRIMARY KEY, full_name TEXT NOT NULL, nickname TEXT, user_type TEXT NOT NULL DEFAULT 'person',
     is_active BOOLEAN DEFAULT TRUE, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, level TEXT NOT NULL, subsystem TEXT NOT NULL,
     module TEXT NOT NULL, function_name TEXT, topic TEXT NOT NULL, message TEXT NOT NULL, user_id TEXT, session_id TEXT, trace_id TEXT,
     extra TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP)`,
  'CREATE INDEX IF NOT EXISTS idx_logs_timestamp ON logs(timestamp)',
  `CREATE TABLE IF NOT EXISTS scheduled_tasks (task_id TEXT PRIMARY KEY, task_class TEXT NOT NULL, schedule TEXT NOT NULL, config TEXT,
     enabled BOOLEAN DEFAULT TRUE, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, topic TEXT NOT NULL, source TEXT NOT NULL,
     message_type TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE, priority INTEGER DEFAULT 0, data BLOB)`,
];

/**
 * AICO's libSQL database, built the way AICO builds it: keyed with
 * `PRAGMA key = 'x"<hex>"'` and AICO's connection settings (WAL, synchronous
 * FULL), then filled with users, logs, scheduled tasks and bus events.
 */
export function seedLibsql(file: string, key: string, rng: Prng, bytes: number): Record<string, number> {
  const db = openLibsql(file, key, { create: true });
  try {
    applyAicoSettings(db);
    for (const stmt of SCHEMA) db.exec(stmt);
    db.prepare('INSERT INTO users (uuid, full_name, nickname) VALUES (?, ?, ?)').run('5f0c1d2e-0000-4000-8000-000000000001', 'Sam Example', 'Sam');
    const tasks = ['memory_consolidation', 'daily_summary', 'log_cleanup', 'backup'];
    const task = db.prepare('INSERT INTO scheduled_tasks (task_id, task_class, schedule, config) VALUES (?, ?, ?, ?)');
    for (const [i, t] of tasks.entries()) task.run(`maintenance.${t}`, `${t}_task`, `${i * 5} 3 * * *`, '{}');
    const logs = Math.max(100, Math.round((bytes * 0.85) / 260));
    const events = Math.max(20, Math.round((bytes * 0.15) / 300));
    const levels = ['DEBUG', 'INFO', 'INFO', 'INFO', 'WARNING'];
    const modules = ['conversation', 'memory', 'scheduler', 'llm', 'api_gateway'];
    const log = db.prepare('INSERT INTO logs (timestamp, level, subsystem, module, function_name, topic, message, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const event = db.prepare('INSERT INTO events (timestamp, topic, source, message_type, message_id, data) VALUES (?, ?, ?, ?, ?, ?)');
    const batch = db.transaction((from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        const module = rng.pick(modules);
        log.run(new Date(1.77e12 + i * 1000).toISOString(), rng.pick(levels), 'backend', module, 'handle', `logs/${module}`, sentence(rng, 10, 20), 'sam');
      }
    });
    for (let done = 0; done < logs; done += 5000) batch(done, Math.min(5000, logs - done));
    db.transaction(() => {
      for (let i = 0; i < events; i++) {
        event.run(new Date(1.77e12 + i * 7000).toISOString(), 'conversation/user/input', 'api_gateway', 'ConversationMessage', `evt-${i}`, Buffer.from(sentence(rng, 20, 40)));
      }
    })();
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    return { users: 1, logs, scheduled_tasks: tasks.length, events };
  } finally {
    db.close();
  }
}
