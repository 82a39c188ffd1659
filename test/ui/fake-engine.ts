/**
 * A scripted EngineApi for screen tests. Every operation records its call,
 * plays the event sequence the real engine emits (start, phase, progress...,
 * warning, summary) with small delays, honours the AbortSignal (rejecting
 * with the engine's own CANCELLED error), checks the password of encrypted
 * archives like the real header does, and resolves with result objects shaped
 * like the engine's types.
 */
import { AicoError, cancelledError } from '../../src/engine/errors.js';
import { applyPolicy, cronOf, givenPassword, lastScheduled, nextRuns } from '../../src/engine/index.js';
import type {
  BackupEntry,
  CleanupOptions,
  CleanupResult,
  CreateOptions,
  CreateResult,
  DeleteOptions,
  DeleteResult,
  EngineEvent,
  HomeSource,
  InfoOptions,
  InfoResult,
  Keyring,
  ListResult,
  Metadata,
  MigrateOptions,
  MigrationStatus,
  OperationContext,
  PasswordLookup,
  ReadingProcess,
  PreparedRestore,
  RestoreOptions,
  RestoreResult,
  RunDueOptions,
  Schedule,
  ScheduleInput,
  ScheduleStatus,
  VerifyOptions,
  VerifyResult,
  Warning,
} from '../../src/engine/index.js';
import type { EngineApi, TuiSettings } from '../../src/ui/engine.js';

export const HOME = '/home/ana/.local/share/aico';
export const OUT = '/home/ana/backups';
export const MiB = 1024 * 1024;

export const SETTINGS: TuiSettings = {
  home: HOME,
  outputDir: OUT,
  config: {
    encrypt: true,
    compression: 'zstd',
    compression_level: 3,
    output_dir: OUT,
    stores: [],
    include: ['libsql', 'chromadb', 'lmdb', 'rocksdb', 'config'],
    exclude: ['models', 'cache', 'temp'],
    max_chain: 14,
    retention: { keep_daily: 7, keep_weekly: 4, keep_monthly: 6 },
    schedule: { enabled: false, frequency: 'daily', time: '02:00', day: 'sunday' },
    schedules: [],
  },
};

/** A promise a test releases by hand, to hold an operation at a known point. */
export class Gate {
  release!: () => void;
  readonly promise = new Promise<void>((resolve) => (this.release = resolve));
}

/** One step of an operation's script: an event to emit, a pause, or a gate to wait at. */
export type Step = EngineEvent | { wait: number } | { hold: Gate };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits like the engine does between reads: rejects with CANCELLED as soon as the signal fires. */
function pause(ms: number | Promise<void>, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledError());
    const onAbort = () => {
      if (timer) clearTimeout(timer);
      reject(cancelledError());
    };
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    if (typeof ms === 'number') timer = setTimeout(done, ms);
    else void ms.then(done);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function play(steps: Step[], ctx: OperationContext): Promise<void> {
  for (const s of steps) {
    if ('wait' in s) await pause(s.wait, ctx.signal);
    else if ('hold' in s) await pause(s.hold.promise, ctx.signal);
    else {
      if (ctx.signal?.aborted) throw cancelledError();
      ctx.onEvent?.(s);
    }
  }
}

/** Progress the way throttledProgress reports it: monotonic bytesDone against one total, per source. */
export function progressSteps(total: number, parts: { source?: string; upTo: number }[], waitMs = 15): Step[] {
  const out: Step[] = [];
  for (const p of parts) {
    out.push({ wait: waitMs }, { type: 'progress', bytesDone: p.upTo, bytesTotal: total, ...(p.source ? { source: p.source } : {}) });
  }
  return out;
}

export function sampleMetadata(over: Partial<Metadata> = {}): Metadata {
  return {
    backup_version: 1,
    tool: { name: 'aico-backup', version: '0.1.0' },
    id: '0d6f1c2a-5b1e-4c61-9a55-3c2f1b7e9d10',
    created: '2026-03-14T09:26:53.000Z',
    backup_type: 'full',
    parent_id: null,
    encryption: { enabled: true, cipher: 'aes-256-gcm-stream', kdf: 'pbkdf2-hmac-sha256', iterations: 600000, segment_size: 1 << 20 },
    compression: { algorithm: 'zstd', level: 3, codec_level: 3, chunk_size: 1 << 20 },
    databases: {
      libsql: { kind: 'database', archive_path: 'databases/', size_bytes: 5 * MiB, files: 2, encrypted: true, consistent: true, method: 'wal-checkpoint+immediate-copy', tables: { messages: 1200, conversations: 34 }, snapshot_ms: 41, writer_block_ms: 3 },
      chromadb: { kind: 'database', archive_path: 'databases/semantic/', size_bytes: 12 * MiB, files: 7, encrypted: false, consistent: true, method: 'stopped-copy', collections: { conversations: 800, facts: 120 }, snapshot_ms: 90 },
      working: { kind: 'database', archive_path: 'databases/working/', size_bytes: 1 * MiB, files: 2, encrypted: false, consistent: true, method: 'lmdb-backup', entries: 4321, snapshot_ms: 5 },
      config: { kind: 'config', archive_path: 'config/', size_bytes: 6144, files: 3, encrypted: false, consistent: true, method: 'file-copy' },
    },
    platform: { os: 'linux', arch: 'x64', node: 'v20.19.0' },
    home: HOME,
    master_key: { included: true, source: 'keyring' },
    ...over,
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A list entry as list() describes it; encrypted ones reveal no sources (header only). */
export function backupEntry(i: number, opts: { encrypted?: boolean; problem?: BackupEntry['problem'] } = {}): BackupEntry {
  const encrypted = opts.encrypted ?? false;
  // Newest first: i = 0 is the most recent.
  const d = new Date(Date.UTC(2026, 2, 14, 9, 0, 0) - i * 3600_000);
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  const name = `aico-backup-${stamp}.tar.zst${encrypted ? '.enc' : ''}`;
  return {
    path: `${OUT}/${name}`,
    name,
    bytes: 18 * MiB + i * 1000,
    encrypted,
    id: `id-${i}`,
    created: d.toISOString(),
    type: 'full',
    parent_id: null,
    format_version: 1,
    container_version: encrypted ? 1 : null,
    compression: 'zstd',
    sources: encrypted ? null : ['libsql', 'chromadb', 'working', 'config'],
    purpose: 'backup',
    parent_name: null,
    chain_intact: null,
    problem: opts.problem ?? null,
  };
}

export const DEFAULT_HOME: HomeSource[] = [
  { name: 'libsql', kind: 'database', present: true, bytes: 5 * MiB, defaultIncluded: true },
  { name: 'chromadb', kind: 'database', present: true, bytes: 12 * MiB, defaultIncluded: true },
  { name: 'working', kind: 'database', present: true, bytes: 1 * MiB, defaultIncluded: true },
  { name: 'config', kind: 'config', present: true, bytes: 6144, defaultIncluded: true },
  { name: 'models', kind: 'extra', present: true, bytes: 300 * MiB, defaultIncluded: false },
  { name: 'cache', kind: 'extra', present: false, bytes: 0, defaultIncluded: false },
  { name: 'temp', kind: 'extra', present: false, bytes: 0, defaultIncluded: false },
];

const VALIDATION: Record<string, { database: string; counts: { tables?: Record<string, number>; collections?: Record<string, number>; entries?: number } }> = {
  libsql: { database: 'libsql', counts: { tables: { messages: 1200, conversations: 34 } } },
  chromadb: { database: 'chromadb', counts: { collections: { conversations: 800, facts: 120 } } },
  working: { database: 'lmdb', counts: { entries: 4321 } },
};

/** What a unit owns in the home (restore/layout.ts UNITS): a skipped unit reports these as kept. */
const UNIT_HOME_PATHS: Record<string, string[]> = {
  libsql: ['data/aico.db', 'data/aico.db.salt', 'data/aico.db-wal', 'data/aico.db-shm'],
  chromadb: ['data/memory/semantic'],
  working: ['data/memory/working'],
};

/** An engine operation, or what a test did with a prepared restore. */
export type CallName = keyof EngineApi | 'commit' | 'discard';

export interface Call {
  op: CallName;
  opts: any;
}

export class FakeEngine {
  readonly calls: Call[] = [];
  backups: BackupEntry[] = [];
  /** The backups of another store than the output directory (the TUI's o), by its location. */
  backupsIn = new Map<string, BackupEntry[]>();
  /** Errors the next list() calls throw, in order; then it succeeds. */
  listErrors: Error[] = [];
  /** Password of each encrypted archive (path -> password). */
  passwords = new Map<string, string>();
  home: HomeSource[] = DEFAULT_HOME;
  metadata: (path: string) => Metadata = (path) => sampleMetadata({ encryption: path.endsWith('.enc') ? sampleMetadata().encryption : { enabled: false } });
  /** Passwords actually handed to the engine (what the provider returned). */
  readonly passwordsSeen: string[] = [];

  verifySteps: Step[] = [
    { type: 'phase', phase: 'read', message: 'Reading and checking every file' },
    ...progressSteps(8 * MiB, [{ source: 'libsql', upTo: 2 * MiB }, { source: 'chromadb', upTo: 6 * MiB }, { source: 'config', upTo: 8 * MiB }]),
  ];
  verifyProblems: VerifyResult['problems'] = [];
  /** When set, verify throws it after its header phase (e.g. CORRUPT_ARCHIVE). */
  verifyError: Error | null = null;

  createSteps: Step[] = [
    ...progressSteps(18 * MiB, [{ source: 'libsql', upTo: 5 * MiB }, { source: 'chromadb', upTo: 17 * MiB }, { source: 'config', upTo: 18 * MiB }]),
  ];
  createWarnings: Warning[] = [];

  restoreSteps: Step[] = progressSteps(18 * MiB, [{ source: 'libsql', upTo: 5 * MiB }, { source: 'chromadb', upTo: 17 * MiB }, { source: 'config', upTo: 18 * MiB }], 5);
  /** Units that already exist at the target (replace vs add; skip when merging). */
  presentAtTarget = new Set(['libsql', 'chromadb', 'config']);
  /** Processes delete reports as still reading an archive, by path. */
  readers = new Map<string, ReadingProcess[]>();
  /** Steps of a commit's safety backup (after its phase event). */
  commitSteps: Step[] = [];
  /** Prepared restores neither committed nor discarded: each holds a target's lock and staging. */
  heldRestores = 0;
  /** The environment the password lookup sees: none of the test run's own, unless a test sets it. */
  env: NodeJS.ProcessEnv = {};
  /** The password stored with "aico backup password set", as the keyring would return it. */
  storedPassword: string | null = null;
  /** A fixed delay before each operation's first byte, like opening a file. */
  latency = 5;
  /** How long deriving the key from a password takes (the real PBKDF2: about 200 ms). */
  kdfMs = 0;

  private record(op: CallName, opts: unknown) {
    this.calls.push({ op, opts });
  }

  callsOf(op: CallName): any[] {
    return this.calls.filter((c) => c.op === op).map((c) => c.opts);
  }

  /** Like ArchiveReader.open: an encrypted archive needs the right password. */
  private async open(path: string, password: (() => Promise<Buffer>) | undefined, signal?: AbortSignal) {
    await pause(this.latency, signal);
    if (!path.endsWith('.enc')) return;
    if (!password) {
      throw new AicoError('PASSWORD_REQUIRED', `${path} is encrypted; a password is needed.`, { hint: 'Pass --password-stdin or set AICO_BACKUP_PASSWORD.' });
    }
    const given = (await password()).toString('utf8');
    this.passwordsSeen.push(given);
    if (this.kdfMs > 0) await pause(this.kdfMs, signal);
    if (given !== (this.passwords.get(path) ?? 'correct horse')) {
      throw new AicoError('WRONG_PASSWORD', 'Wrong password for this backup.', { hint: 'Check the password (it is case-sensitive) and try again.' });
    }
  }

  /** Everything up to the swap, as restore's prepare does: header, staging (restoreSteps), validation. */
  private async stageRestore(opts: RestoreOptions, ctx: OperationContext): Promise<RestoreResult['units']> {
    const emit = (e: EngineEvent) => ctx.onEvent?.(e);
    emit({ type: 'start', op: 'restore', path: opts.path });
    emit({ type: 'phase', phase: 'header', message: `Reading the manifest of ${opts.path}` });
    await this.open(opts.path, opts.password, ctx.signal);
    const inArchive = Object.keys(this.metadata(opts.path).databases);
    const wanted = opts.databases?.length ? opts.databases : inArchive;
    for (const u of wanted) {
      if (!inArchive.includes(u)) throw new AicoError('NOT_FOUND', `This backup holds no ${u} data.`, { hint: `It holds: ${inArchive.join(', ')}.` });
    }
    emit({ type: 'phase', phase: 'stage', message: 'Verifying the archive and staging its files' });
    await play(this.restoreSteps, ctx);
    emit({ type: 'phase', phase: 'validate', message: 'Opening every restored database with its engine' });
    await pause(this.latency, ctx.signal);
    const db = this.metadata(opts.path).databases;
    return wanted.map((name) => {
      const present = this.presentAtTarget.has(name);
      const s = db[name]!;
      const v = VALIDATION[name];
      const validation = v ? { unit: name, database: v.database, ok: true, counts: v.counts } : null;
      if (opts.merge && present) {
        return name === 'config'
          ? { name, action: 'skip' as const, files: 0, bytes: s.size_bytes, skipped: ['config/core.yaml', 'config/models.yaml', 'config/user.yaml'], validation }
          : { name, action: 'skip' as const, files: 0, bytes: 0, skipped: UNIT_HOME_PATHS[name] ?? [], validation };
      }
      return { name, action: present ? ('replace' as const) : ('add' as const), files: s.files, bytes: s.size_bytes, skipped: [], validation };
    });
  }

  /** The safety backup (commitSteps) and the swap; returns the safety backup's path. */
  private async swapRestore(opts: RestoreOptions, units: RestoreResult['units'], ctx: OperationContext): Promise<string | null> {
    const emit = (e: EngineEvent) => ctx.onEvent?.(e);
    let safetyBackup: string | null = null;
    if (opts.safetyBackupDir && units.some((u) => u.action === 'replace')) {
      emit({ type: 'phase', phase: 'archive', message: 'Saving what will be replaced (pre-restore safety backup)' });
      await pause(this.latency, ctx.signal);
      await play(this.commitSteps, ctx);
      safetyBackup = `${opts.safetyBackupDir}/aico-backup-20260314-100000-pre-restore.tar.zst`;
    }
    const target = opts.target ?? opts.home;
    emit({ type: 'phase', phase: 'swap', message: `Swapping the restored data into ${target}` });
    return safetyBackup;
  }

  private finishRestore(opts: RestoreOptions, units: RestoreResult['units'], safetyBackup: string | null, started: number, ctx: OperationContext): RestoreResult {
    const result = this.restoreResult(opts, units, safetyBackup, Date.now() - started);
    ctx.onEvent?.({ type: 'summary', op: 'restore', ok: true, durationMs: result.durationMs });
    return result;
  }

  private restoreResult(opts: RestoreOptions, units: RestoreResult['units'], safetyBackup: string | null, durationMs: number): RestoreResult {
    return {
      archive: { path: opts.path, id: sampleMetadata().id },
      target: opts.target ?? opts.home,
      mode: opts.merge ? 'merge' : 'replace',
      dryRun: !!opts.dryRun,
      units,
      safetyBackup,
      masterKey: { source: opts.path.endsWith('.enc') ? 'archive' : 'keyring', keyring: opts.dryRun ? 'unchanged' : 'stored' },
      recovered: null,
      warnings: [],
      durationMs,
    };
  }

  /** Only what the password lookup uses of a keyring. */
  private readonly keyring = { get: async () => (this.storedPassword === null ? null : Buffer.from(this.storedPassword)) } as unknown as Keyring;

  /** The home's schedules, as core.yaml would hold them (parsed), and their run state. */
  schedules: Schedule[] = [];
  scheduleStates = new Map<string, ScheduleStatus['state']>();
  /** Thrown by the next createSchedule (e.g. PASSWORD_REQUIRED), as the engine refuses before saving. */
  scheduleSaveErrors: Error[] = [];

  private async statusOf(s: Schedule): Promise<ScheduleStatus> {
    const cron = cronOf(s);
    const now = new Date();
    const state = this.scheduleStates.get(s.name) ?? null;
    return {
      schedule: s,
      from: 'schedules',
      cron,
      time_zone: 'UTC',
      next: (await nextRuns(cron, 'UTC', now, 3)).map((d) => d.toISOString()),
      last_scheduled: (await lastScheduled(cron, 'UTC', now)).toISOString(),
      due: false,
      overdue: state?.last_outcome === 'failed',
      state,
    };
  }

  /** The home's migration state, as migrationStatus reports it. */
  migration: MigrationStatus = { home: HOME, state: 'not-migrated', step: null, cipher_dir: null, mounted: false, plaintext: null, backup: null };

  readonly api: EngineApi = {
    migrationStatus: async (home: string) => {
      this.record('migrationStatus', { home });
      await pause(this.latency);
      return { ...this.migration };
    },

    // The steps' phase events as the engine emits them, the confirmation before the swap, a result with the master key.
    migrateEncrypt: async (opts: MigrateOptions, ctx: OperationContext = {}) => {
      this.record('migrateEncrypt', opts);
      const started = Date.now();
      ctx.onEvent?.({ type: 'start', op: 'migrate', path: opts.home });
      await opts.fsPassword();
      for (const step of ['preflight', 'backup', 'init', 'mount', 'copy', 'verify', 'fsck'] as const) {
        ctx.onEvent?.({ type: 'phase', phase: 'migrate', message: `${step}: working` });
        await pause(this.latency, ctx.signal);
      }
      if (opts.beforeSwap && !(await opts.beforeSwap())) throw new AicoError('CANCELLED', 'Stopped before the switch-over.');
      ctx.onEvent?.({ type: 'phase', phase: 'migrate', message: 'swap: working' });
      await pause(this.latency, ctx.signal);
      this.migration = { ...this.migration, state: 'migrated', step: 'done', cipher_dir: opts.cipherDir, mounted: true, plaintext: { path: `${opts.home}.plaintext-1`, present: true } };
      ctx.onEvent?.({ type: 'summary', op: 'migrate', ok: true, durationMs: Date.now() - started });
      return { home: opts.home, cipherDir: opts.cipherDir, plaintext: `${opts.home}.plaintext-1`, backup: `${OUT}/aico-backup-20260314-100000.tar.zst.enc`, masterKey: 'af59e38b-b4ba672e-ab5362e3-40f15609-357edfe2-117cd2b2-53f9b122-50c85715', keyring: true, verified: null, resumed: null, durationMs: Date.now() - started };
    },

    mountHome: async (opts: { home: string }) => {
      this.record('mountHome', opts);
      this.migration = { ...this.migration, mounted: true };
      return { home: opts.home, cipherDir: this.migration.cipher_dir!, passwordFrom: 'keyring' as const };
    },

    unmountHome: async (opts: { home: string }) => {
      this.record('unmountHome', opts);
      const wasMounted = this.migration.mounted;
      this.migration = { ...this.migration, mounted: false };
      return { home: opts.home, wasMounted };
    },

    scheduleStatus: async (home: string) => {
      this.record('scheduleStatus', { home });
      await pause(this.latency);
      return Promise.all(this.schedules.map((s) => this.statusOf(s)));
    },

    createSchedule: async (home: string, input: ScheduleInput, opts: { replace?: boolean } = {}) => {
      this.record('createSchedule', { home, input, replace: opts.replace });
      await pause(this.latency);
      const error = this.scheduleSaveErrors.shift();
      if (error) throw error;
      const schedule = { enabled: true, type: 'auto', full_every: 'weekly', cleanup: true, ...input } as Schedule;
      if (!opts.replace && this.schedules.some((s) => s.name === schedule.name)) throw new AicoError('USAGE', `A schedule named "${schedule.name}" exists already.`);
      this.schedules = [...this.schedules.filter((s) => s.name !== schedule.name), schedule];
      const status = await this.statusOf(schedule);
      return { schedule, next: status.next, timer: { installed: null, removed: [] }, notes: [] };
    },

    changeSchedule: async (home: string, name: string | undefined, change: 'enable' | 'disable' | 'delete') => {
      this.record('changeSchedule', { home, name, change });
      await pause(this.latency);
      const target = this.schedules.find((s) => s.name === name)!;
      this.schedules = change === 'delete' ? this.schedules.filter((s) => s !== target) : this.schedules.map((s) => (s === target ? { ...s, enabled: change === 'enable' } : s));
      return { schedule: { ...target, enabled: change === 'enable' }, next: [], timer: { installed: null, removed: [] }, notes: [] };
    },

    runDue: async (opts: RunDueOptions, ctx: OperationContext = {}) => {
      this.record('runDue', opts);
      const started = Date.now();
      ctx.onEvent?.({ type: 'start', op: 'schedule', path: opts.home });
      ctx.onEvent?.({ type: 'phase', phase: 'archive', message: 'Writing the scheduled backup', op: 'create', parent: 'schedule' });
      await pause(this.latency * 4, ctx.signal);
      const name = opts.force![0]!;
      const entry = { ...backupEntry(0), name: 'aico-backup-20260314-100000.tar.zst.enc', path: `${OUT}/aico-backup-20260314-100000.tar.zst.enc`, created: '2026-03-14T10:00:00.000Z' };
      this.backups = [entry, ...this.backups];
      const at = new Date().toISOString();
      this.scheduleStates.set(name, { created: at, last_attempt: at, last_outcome: 'ok', last_success: at, last_backup: entry.path, last_error: null });
      ctx.onEvent?.({ type: 'summary', op: 'schedule', ok: true, durationMs: Date.now() - started });
      return { runs: [{ name, scheduled_for: null, ok: true, backup: { path: entry.path, type: 'full', bytes: entry.bytes, files: 14 }, cleanup: { removed: 0, bytes: 0 }, synced: [], warnings: [], error: null, duration_ms: Date.now() - started }], not_due: [], durationMs: Date.now() - started };
    },

    // The engine's own lookup (order, password file), over this fake's environment and keyring.
    givenPassword: async (opts: PasswordLookup = {}) => {
      this.record('givenPassword', opts);
      return givenPassword({ ...opts, env: this.env, keyring: this.keyring });
    },

    list: async (opts: { dir: string }, ctx: OperationContext = {}): Promise<ListResult> => {
      this.record('list', opts);
      ctx.onEvent?.({ type: 'start', op: 'list', path: opts.dir });
      await pause(this.latency);
      const error = this.listErrors.shift();
      if (error) throw error;
      ctx.onEvent?.({ type: 'summary', op: 'list', ok: true, durationMs: this.latency });
      return { dir: opts.dir, backups: [...(this.backupsIn.get(opts.dir) ?? this.backups)] };
    },

    deleteBackups: async (opts: DeleteOptions, ctx: OperationContext = {}): Promise<DeleteResult> => {
      this.record('deleteBackups', opts);
      const started = Date.now();
      ctx.onEvent?.({ type: 'start', op: 'delete' });
      await pause(this.latency);
      // Like the engine: every path is checked before the first removal.
      const entries = opts.paths.map((p) => {
        const entry = this.backups.find((b) => b.path === p);
        if (!entry) throw new AicoError('NOT_FOUND', `${p} does not exist.`);
        return entry;
      });
      const backups = entries.map((b) => {
        if (!opts.dryRun) this.backups = this.backups.filter((x) => x !== b);
        ctx.onEvent?.({ type: 'item', source: 'archive', path: b.path, bytes: b.bytes, action: opts.dryRun ? 'would-delete' : 'deleted' });
        return { path: b.path, name: b.name, bytes: b.bytes, deleted: !opts.dryRun, dependent: false, readers: this.readers.get(b.path) ?? [] };
      });
      const bytes = backups.reduce((n, b) => n + b.bytes, 0);
      ctx.onEvent?.({ type: 'summary', op: 'delete', ok: true, durationMs: Date.now() - started, bytes });
      return { dryRun: opts.dryRun === true, backups, consolidated: [], bytes, durationMs: Date.now() - started };
    },

    // The real policy over the fake's backups (a pure function); the newest one's password is checked as verify would.
    cleanup: async (opts: CleanupOptions, ctx: OperationContext = {}): Promise<CleanupResult> => {
      this.record('cleanup', opts);
      const started = Date.now();
      ctx.onEvent?.({ type: 'start', op: 'cleanup', path: opts.dir });
      const decisions = applyPolicy(this.backups, opts.rules, opts.timeZone);
      const newest = this.backups.find((b) => b.purpose === 'backup');
      const going = decisions.filter((d) => !d.keep).map((d) => d.backup);
      if (going.length > 0 && newest) {
        ctx.onEvent?.({ type: 'phase', phase: 'read', message: `Verifying ${newest.name}`, op: 'verify', parent: 'cleanup' });
        await this.open(newest.path, opts.password, ctx.signal);
      }
      if (going.length > 0) ctx.onEvent?.({ type: 'phase', phase: 'remove', message: `${opts.dryRun ? 'Would remove' : 'Removing'} ${going.length} backup(s)` });
      await pause(this.latency, ctx.signal);
      if (!opts.dryRun) this.backups = this.backups.filter((b) => !going.includes(b));
      const bytes = going.reduce((n, b) => n + b.bytes, 0);
      ctx.onEvent?.({ type: 'summary', op: 'cleanup', ok: true, durationMs: Date.now() - started, bytes });
      return {
        dir: opts.dir,
        dryRun: opts.dryRun === true,
        timeZone: opts.timeZone,
        backups: decisions.map(({ backup: b, keep, reasons }) => ({ path: b.path, name: b.name, created: b.created, type: b.type, purpose: b.purpose, bytes: b.bytes, keep, reasons, removed: !keep && !opts.dryRun })),
        consolidated: [],
        verified: going.length > 0 && newest ? newest.name : null,
        removed: going.length,
        bytes,
        durationMs: Date.now() - started,
      };
    },

    describeHome: async (opts: { home: string }) => {
      this.record('describeHome', opts);
      await pause(this.latency);
      return this.home.map((s) => ({ ...s }));
    },

    info: async (opts: InfoOptions, ctx: OperationContext = {}): Promise<InfoResult> => {
      this.record('info', opts);
      const started = Date.now();
      ctx.onEvent?.({ type: 'start', op: 'info', path: opts.path });
      await this.open(opts.path, opts.password, ctx.signal);
      const metadata = this.metadata(opts.path);
      const bySource = Object.fromEntries(Object.entries(metadata.databases).map(([n, s]) => [n, { files: s.files, bytes: s.size_bytes }]));
      const files = Object.values(bySource).reduce((a, s) => a + s.files, 0);
      const bytes = Object.values(bySource).reduce((a, s) => a + s.bytes, 0);
      ctx.onEvent?.({ type: 'summary', op: 'info', ok: true, durationMs: Date.now() - started, bytes: 15 * MiB });
      return {
        path: opts.path,
        bytes: 15 * MiB,
        encrypted: opts.path.endsWith('.enc'),
        compression: metadata.compression.algorithm,
        format_version: metadata.backup_version,
        container_version: opts.path.endsWith('.enc') ? 1 : null,
        purpose: metadata.purpose ?? 'backup',
        metadata,
        contents: { files, bytes, stored_bytes: bytes, bySource },
      };
    },

    verify: async (opts: VerifyOptions, ctx: OperationContext = {}): Promise<VerifyResult> => {
      this.record('verify', opts);
      const started = Date.now();
      ctx.onEvent?.({ type: 'start', op: 'verify', path: opts.path });
      ctx.onEvent?.({ type: 'phase', phase: 'header', message: 'Checking the header' });
      await this.open(opts.path, opts.password, ctx.signal);
      if (this.verifyError) throw this.verifyError;
      await play(this.verifySteps, ctx);
      const ok = this.verifyProblems.length === 0;
      const durationMs = Date.now() - started;
      ctx.onEvent?.({ type: 'summary', op: 'verify', ok, durationMs, bytes: 15 * MiB });
      return { ok, path: opts.path, id: sampleMetadata().id, encrypted: opts.path.endsWith('.enc'), compression: 'zstd', files: 14, bytes: 15 * MiB, problems: [...this.verifyProblems], chain: [], durationMs };
    },

    create: async (opts: CreateOptions, ctx: OperationContext = {}): Promise<CreateResult> => {
      this.record('create', opts);
      const started = Date.now();
      const emit = (e: EngineEvent) => ctx.onEvent?.(e);
      emit({ type: 'start', op: 'create' });
      emit({ type: 'phase', phase: 'scan', message: `Taking consistent snapshots of the AICO data in ${opts.home}` });
      await pause(this.latency, ctx.signal);
      for (const name of opts.include.filter((n) => ['libsql', 'chromadb', 'working'].includes(n))) {
        emit({ type: 'phase', phase: 'snapshot', message: `Snapshot of ${name} (${opts.home}/data)` });
      }
      // Asked for only when encrypting, after the sources were found.
      if (opts.encrypt) {
        if (!opts.password) throw new AicoError('PASSWORD_REQUIRED', 'An encrypted backup needs a password.');
        this.passwordsSeen.push((await opts.password()).toString('utf8'));
        if (this.kdfMs > 0) await pause(this.kdfMs, ctx.signal);
      }
      const ext = { zstd: '.zst', gzip: '.gz', lz4: '.lz4', none: '' }[opts.compression];
      const path = `${opts.outputDir}/aico-backup-20260314-092653.tar${ext}${opts.encrypt ? '.enc' : ''}`;
      emit({ type: 'phase', phase: 'archive', message: `Writing ${path.split('/').at(-1)}` });
      await play(this.createSteps, ctx);
      for (const w of this.createWarnings) emit({ type: 'warning', ...w });
      emit({ type: 'phase', phase: 'finalize', message: `Saved ${path}` });
      const durationMs = Date.now() - started;
      emit({ type: 'summary', op: 'create', ok: true, durationMs, bytes: 15 * MiB });
      const all = sampleMetadata().databases;
      return {
        backup: {
          path,
          id: sampleMetadata().id,
          type: 'full',
          parent_id: null,
          chain_length: 0,
          data_bytes: 80 * MiB,
          stored_bytes: 80 * MiB,
          bytes: 15 * MiB,
          created: sampleMetadata().created,
          encrypted: opts.encrypt,
          compression: opts.compression,
          files: 14,
          sources: Object.fromEntries(opts.include.filter((n) => all[n]).map((n) => [n, all[n]!])),
        },
        masterKey: { source: 'keyring', included: opts.encrypt },
        warnings: [...this.createWarnings],
        durationMs,
      };
    },

    restore: async (opts: RestoreOptions, ctx: OperationContext = {}): Promise<RestoreResult> => {
      this.record('restore', opts);
      const started = Date.now();
      const units = await this.stageRestore(opts, ctx);
      const safetyBackup = opts.dryRun ? null : await this.swapRestore(opts, units, ctx);
      return this.finishRestore(opts, units, safetyBackup, started, ctx);
    },

    prepareRestore: async (opts: Omit<RestoreOptions, 'dryRun'>, ctx: OperationContext = {}): Promise<PreparedRestore> => {
      this.record('prepareRestore', opts);
      const started = Date.now();
      const units = await this.stageRestore(opts, ctx);
      let state: 'prepared' | 'committed' | 'discarded' = 'prepared';
      this.heldRestores++;
      const release = () => {
        if (state === 'prepared') this.heldRestores--;
      };
      return {
        preview: this.restoreResult({ ...opts, dryRun: true }, units, null, Date.now() - started),
        commit: async (commitCtx: OperationContext = {}) => {
          this.record('commit', opts);
          if (state !== 'prepared') throw new AicoError('INTERNAL', 'This prepared restore was already committed or discarded.');
          commitCtx.onEvent?.({ type: 'start', op: 'restore', path: opts.path });
          try {
            const safetyBackup = await this.swapRestore(opts, units, commitCtx);
            return this.finishRestore(opts, units, safetyBackup, Date.now(), commitCtx);
          } finally {
            release();
            state = 'committed';
          }
        },
        discard: async () => {
          this.record('discard', opts);
          release();
          if (state === 'prepared') state = 'discarded';
        },
      };
    },
  };
}
