import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { AicoError } from '../errors.js';
import { isAlive, type DirLock } from '../fsutil/lock.js';
import { s3Url } from './location.js';
import type { S3Store } from './s3-store.js';

export const REMOTE_LOCK_DIR = '.aico-locks/';
/** A holder rewrites its lock this often; one not rewritten for STALE_MS is a crashed run's. */
const REFRESH_MS = 5 * 60_000;
const STALE_MS = 30 * 60_000;

interface RemoteLockInfo {
  pid: number;
  host: string;
  op: string;
  started: string;
  refreshed: string;
}

/**
 * A bucket has no atomic create-if-absent everywhere (S3 conditional writes
 * are recent, and S3-compatible servers ignore them), so the lock is
 * restic's: each writer puts its own lock object, then lists them; if
 * another live one is there, the later writer withdraws. Two writers
 * starting in the same instant may both withdraw; neither proceeds alone.
 */
export async function acquireRemoteLock(store: S3Store, op: string): Promise<DirLock> {
  const dir = `${store.where.prefix}${REMOTE_LOCK_DIR}`;
  const me: RemoteLockInfo = { pid: process.pid, host: hostname(), op, started: new Date().toISOString(), refreshed: new Date().toISOString() };
  const name = `${REMOTE_LOCK_DIR}${Date.now().toString(36)}-${randomBytes(6).toString('hex')}.json`;
  let takeover: string | null = null;
  const others = async () => {
    const found: Array<{ name: string; info: RemoteLockInfo | null }> = [];
    for (const o of await store.listKeys(dir)) {
      const key = `${REMOTE_LOCK_DIR}${o.name}`;
      if (key === name) continue;
      const info = await readLock(store, key);
      const refreshed = Date.parse(info?.refreshed ?? '') || o.modified.getTime();
      const dead = info && info.host === me.host && !isAlive(info.pid);
      if (dead || Date.now() - refreshed > STALE_MS) {
        await store.remove(key).catch(() => {});
        takeover = `Removed the stale lock of ${info ? `pid ${info.pid} on ${info.host} (${info.op})` : key} in ${store.location}.`;
        continue;
      }
      found.push({ name: key, info });
    }
    return found;
  };
  const refuse = (holder: { name: string; info: RemoteLockInfo | null }) =>
    new AicoError('LOCKED', `Another aico-backup (${holder.info ? `${holder.info.op}, pid ${holder.info.pid} on ${holder.info.host}, since ${holder.info.started}` : 'unknown'}) is writing to ${store.location}.`, {
      hint: `Wait for it to finish. If no aico-backup is running, delete ${s3Url(store.where, holder.name)}; a lock not refreshed for 30 minutes is taken over.`,
    });
  const first = await others();
  if (first.length) throw refuse(first[0]!);
  await put(store, name, me);
  const racing = (await others()).filter((o) => o.name < name);
  if (racing.length) {
    await store.remove(name).catch(() => {});
    throw refuse(racing[0]!);
  }
  let held = true;
  const timer = setInterval(() => {
    me.refreshed = new Date().toISOString();
    void put(store, name, me).catch(() => {});
  }, REFRESH_MS);
  timer.unref();
  return {
    dir: store.location,
    takeover,
    isHeld: async () => held && (await readLock(store, name)) !== null,
    release: async () => {
      if (!held) return;
      held = false;
      clearInterval(timer);
      await store.remove(name);
    },
  };
}

async function put(store: S3Store, name: string, info: RemoteLockInfo): Promise<void> {
  await store.call('lock', name, (c) =>
    c.client.send(new c.s3.PutObjectCommand({ Bucket: store.where.bucket, Key: store.key(name), Body: JSON.stringify(info), ContentType: 'application/json' })),
  );
}

async function readLock(store: S3Store, name: string): Promise<RemoteLockInfo | null> {
  try {
    const size = (await store.head(name))?.bytes;
    if (!size) return null;
    return JSON.parse((await store.getRange(name, 0, size - 1)).toString('utf8')) as RemoteLockInfo;
  } catch {
    return null;
  }
}
