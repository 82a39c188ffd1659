import { AicoError } from '../errors.js';
import { applyAicoSettings, column, openLibsql, scalar } from '../sources/libsql-db.js';
import type { Prng } from './prng.js';
import { sentence } from './words.js';

export interface LibsqlChurn {
  logs_appended: number;
  events_appended: number;
  logs_updated: number;
}

const LEVELS = ['DEBUG', 'INFO', 'INFO', 'INFO', 'WARNING'];
const MODULES = ['conversation', 'memory', 'scheduler', 'llm', 'api_gateway'];

/** The time after a table's newest row (1.77e12 for an empty one, where the seed starts). */
function after(db: ReturnType<typeof openLibsql>, table: string): number {
  const newest = scalar(db, `SELECT max(timestamp) FROM ${table}`);
  const t = typeof newest === 'string' ? Date.parse(newest) : NaN;
  return Number.isFinite(t) ? t : 1.77e12;
}

/** CURRENT_TIMESTAMP's format, given explicitly so the same seed writes the same rows. */
const sqlTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

/**
 * A day of AICO's libSQL writes: log and bus-event rows appended after the
 * newest, the scheduler touching its tasks, and with `percent` that share of
 * the existing log rows rewritten at scattered places in one transaction (the
 * worst case for a page-level incremental backup). Checkpointed so every
 * change is in aico.db itself; never VACUUMed, which would move every page.
 */
export function churnLibsql(file: string, key: string | null, rng: Prng, percent: number | null): LibsqlChurn {
  const db = openLibsql(file, key);
  try {
    applyAicoSettings(db);
    // Before the appends: the rows to rewrite are among those that existed.
    const ids = percent ? (column(db, 'SELECT id FROM logs ORDER BY id') as number[]) : [];
    const existing = percent ? ids.length : Number(scalar(db, 'SELECT count(*) FROM logs'));
    const logs = Math.max(200, Math.round(existing * 0.005));
    const events = Math.max(20, Math.round(logs * 0.1));
    const logStart = after(db, 'logs') + 1000;
    const eventStart = after(db, 'events') + 7000;
    const firstEvent = Number(scalar(db, 'SELECT coalesce(max(id), 0) FROM events'));
    const log = db.prepare(
      'INSERT INTO logs (timestamp, level, subsystem, module, function_name, topic, message, user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const event = db.prepare('INSERT INTO events (timestamp, topic, source, message_type, message_id, data) VALUES (?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < logs; i++) {
        const module = rng.pick(MODULES);
        const t = logStart + i * 1000;
        log.run(new Date(t).toISOString(), rng.pick(LEVELS), 'backend', module, 'handle', `logs/${module}`, sentence(rng, 10, 20), 'sam', sqlTime(t));
      }
      for (let i = 0; i < events; i++) {
        // The seed's evt-N sits at id N+1, so the next ids continue its numbering.
        event.run(new Date(eventStart + i * 7000).toISOString(), 'conversation/user/input', 'api_gateway', 'ConversationMessage', `evt-${firstEvent + i}`, Buffer.from(sentence(rng, 20, 40)));
      }
      db.prepare('UPDATE scheduled_tasks SET updated_at = ?').run(sqlTime(logStart + logs * 1000));
      db.prepare('UPDATE users SET updated_at = ?').run(sqlTime(logStart));
    })();
    let updated = 0;
    if (percent) {
      const count = Math.min(ids.length, Math.max(1, Math.round((ids.length * percent) / 100)));
      const update = db.prepare('UPDATE logs SET message = ? WHERE id = ?');
      db.transaction(() => {
        // A partial Fisher-Yates shuffle: `count` distinct rows, uniformly spread over the table.
        for (let i = 0; i < count; i++) {
          const j = i + rng.int(ids.length - i);
          [ids[i], ids[j]] = [ids[j]!, ids[i]!];
          updated += update.run(sentence(rng, 10, 20), ids[i]).changes;
        }
      })();
    }
    // busy = 1: another connection (AICO) holds a read snapshot, and part of the day stays in the WAL.
    if (Number(scalar(db, 'PRAGMA wal_checkpoint(TRUNCATE)')) !== 0) {
      throw new AicoError('DATABASE_IN_USE', `${file} was changed but could not be checkpointed: another process has it open.`, { hint: 'Stop AICO and run the churn again.' });
    }
    return { logs_appended: logs, events_appended: events, logs_updated: updated };
  } finally {
    db.close();
  }
}
