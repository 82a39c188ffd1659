import { promises as fs } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { readManifest } from '../archive/inspect.js';
import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import { AicoError, throwIfAborted } from '../errors.js';
import { noopSink, type OperationContext } from '../events.js';
import { PARTIAL_SUFFIX, pathExists } from '../fsutil/atomic-file.js';
import { maybeCrash } from '../restore/fault.js';
import { acquireDirLock } from '../fsutil/lock.js';
import { openKeyFile } from '../keys/key-file.js';
import { MASTER_KEY_ACCOUNT, systemKeyring, type Keyring } from '../keys/keyring.js';
import { resolveMasterKey } from '../keys/master-key.js';
import { libsqlKeyFor } from '../keys/libsql-key.js';
import { aicoConfigDir } from '../home/aico-config.js';
import { processesHolding } from '../sources/in-use.js';
import { recoverInterrupted, swapIn } from '../restore/journal.js';
import { UNITS, unitsFor } from '../restore/layout.js';
import { planPaths, stageArchive } from '../restore/stage.js';
import { validateStaged, type UnitValidation } from '../restore/validate.js';
import { create } from './create.js';
import { importMasterKey } from './keys.js';

export interface RestoreOptions {
  path: string;
  password?: PasswordProvider;
  /** The AICO home; also the target unless `target` is given. */
  home: string;
  target?: string;
  /** Units to restore (libsql, semantic, working, config, ...); default: everything in the archive. */
  databases?: string[];
  configOnly?: boolean;
  dryRun?: boolean;
  /** Restore although AICO seems to be running, into a non-empty --target, and replace a different master key. */
  force?: boolean;
  /** Add what is missing, leave what exists. */
  merge?: boolean;
  /** Where the pre-restore safety backup goes; null: none. */
  safetyBackupDir: string | null;
  keyring?: Keyring;
  env?: NodeJS.ProcessEnv;
  kdfIterations?: number;
}

export type UnitAction = 'replace' | 'add' | 'skip' | 'merge';

export interface RestoreResult {
  archive: { path: string; id: string };
  target: string;
  mode: 'replace' | 'merge';
  dryRun: boolean;
  units: { name: string; action: UnitAction; files: number; bytes: number; skipped: string[]; validation: UnitValidation | null }[];
  safetyBackup: string | null;
  masterKey: { source: 'archive' | 'keyring' | 'env' | 'none'; keyring: 'stored' | 'unchanged' | 'not-imported' | 'unavailable' };
  recovered: 'rolled-back' | 'completed' | null;
  warnings: { code: string; message: string }[];
  durationMs: number;
}

async function nonEmpty(dir: string): Promise<boolean> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.some((n) => !n.startsWith('.aico-'));
}

/** Config is merged per file: which staged files are new to the target. */
async function mergeFiles(staging: string, target: string, root: string): Promise<{ add: string[]; skip: string[] }> {
  const add: string[] = [];
  const skip: string[] = [];
  const base = path.join(staging, root);
  for (const e of await fs.readdir(base, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    const rel = path.posix.join(root, path.relative(base, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
    ((await pathExists(path.join(target, rel))) ? skip : add).push(rel);
  }
  return { add, skip };
}

/**
 * Restores a backup into the AICO home (or another directory): everything is
 * verified and staged on the target's filesystem first, every database is
 * opened with its engine and its counts compared with the backup's, and only
 * then are the units swapped in as one journaled transaction (see
 * restore/journal.ts). On any failure the target is left as it was.
 */
export async function restore(opts: RestoreOptions, ctx: OperationContext = {}): Promise<RestoreResult> {
  try {
    return await restoreOrThrow(opts, ctx);
  } catch (error) {
    // Refused and failed restores are recorded too, where there is a target to record them in.
    const target = path.resolve(opts.target ?? opts.home);
    if (!opts.dryRun && (await pathExists(target))) {
      const units = opts.configOnly ? ['config'] : opts.databases ?? ['all'];
      await audit(target, { archive: { path: opts.path, id: '?' }, units: units.map((name) => ({ name })), mode: opts.merge ? 'merge' : 'replace' }, `failed: ${(error as AicoError)?.code ?? 'INTERNAL'}`).catch(() => {});
    }
    throw error;
  }
}

async function restoreOrThrow(opts: RestoreOptions, ctx: OperationContext): Promise<RestoreResult> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const warnings: RestoreResult['warnings'] = [];
  const warn = (code: string, message: string) => {
    warnings.push({ code, message });
    emit({ type: 'warning', code, message });
  };
  emit({ type: 'start', op: 'restore', path: opts.path });
  if (opts.merge && opts.force) throw new AicoError('USAGE', '--merge leaves existing data alone and --force replaces it: choose one.');
  const inPlace = !opts.target || path.resolve(opts.target) === path.resolve(opts.home);
  const target = path.resolve(opts.target ?? opts.home);
  if (!inPlace && (await nonEmpty(target)) && !opts.force && !opts.merge) {
    throw new AicoError('USAGE', `${target} is not empty.`, { hint: 'Restore into an empty or new directory, or pass --merge (add what is missing) or --force (replace).' });
  }

  // The password is needed twice (archive, then encryption_key.enc): ask once.
  const asked: { value: Buffer | null } = { value: null };
  const cachedPassword: PasswordProvider | null = opts.password
    ? async () => Buffer.from((asked.value ??= await opts.password!()))
    : null;

  emit({ type: 'phase', phase: 'header', message: `Reading the manifest of ${opts.path}` });
  const reader = await ArchiveReader.open(opts.path, cachedPassword, ctx.signal);
  let plan;
  let declared: Record<string, number> = {};
  try {
    const { manifest } = await readManifest(reader);
    plan = planPaths(manifest);
    for (const f of manifest.files) {
      const unit = plan.get(f.path)!.unit;
      declared[unit] = (declared[unit] ?? 0) + f.size;
    }
  } finally {
    await reader.close();
  }
  const inArchive = Object.keys(declared);
  const wanted = opts.configOnly ? ['config'] : opts.databases?.length ? unitsFor(opts.databases) : inArchive;
  for (const u of wanted) {
    if (!inArchive.includes(u)) throw new AicoError('NOT_FOUND', `This backup holds no ${u} data.`, { hint: `It holds: ${inArchive.join(', ')}.` });
  }
  const selected = new Set(wanted);

  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  const lock = await acquireDirLock(target, 'restore');
  if (lock.takeover) warn('STALE_LOCK', lock.takeover);
  const staging = path.join(target, `.aico-restore.${process.pid}${PARTIAL_SUFFIX}`);
  try {
    const recovered = await recoverInterrupted(target);
    if (recovered) {
      warn('RESTORE_RECOVERED', recovered === 'rolled-back'
        ? `An interrupted restore was found in ${target}; its changes were rolled back first.`
        : `An interrupted restore in ${target} had finished swapping; its clean-up was completed first.`);
    }
    if (!opts.force) await refuseIfInUse(target);
    const needed = wanted.reduce((sum, u) => sum + (declared[u] ?? 0), 0);
    const free = await fs.statfs(target).then((s) => s.bavail * s.bsize, () => Infinity);
    if (needed > free) {
      throw new AicoError('NO_SPACE', `Restoring needs ${needed} bytes of staging space in ${target}; ${free} are free.`, {
        hint: 'Free some space, or restore fewer databases with --database. Nothing was changed.',
      });
    }

    await fs.mkdir(staging, { mode: 0o700 });
    emit({ type: 'phase', phase: 'stage', message: 'Verifying the archive and staging its files' });
    const staged = await stageArchive({ path: opts.path, password: cachedPassword, staging, units: selected, plan }, ctx);
    throwIfAborted(ctx.signal);
    maybeCrash('staged');

    // The key that opens the restored libSQL database: the backup's own master key first.
    let archiveKey: Buffer | null = null;
    let keySource: RestoreResult['masterKey']['source'] = 'none';
    const password = asked.value;
    if (staged.sealedKey && password) {
      archiveKey = (await openKeyFile(staged.sealedKey, password, 'encryption_key.enc')).secret;
      keySource = 'archive';
    }
    let localKey: Buffer | null = null;
    if (!archiveKey && selected.has('libsql')) {
      const resolved = await resolveMasterKey(opts.keyring, opts.env);
      localKey = resolved.key;
      keySource = resolved.source;
    }
    const masterKey = archiveKey ?? localKey;
    // Derived once, with the iterations recorded at backup time (else the backup's own AICO config, else the target's).
    const libsqlKey = selected.has('libsql')
      ? (
          await libsqlKeyFor(staging, masterKey, {
            env: opts.env ?? process.env,
            iterations: staged.metadata.databases.libsql?.kdf_iterations,
            configDir: (await pathExists(path.join(staging, 'config'))) ? path.join(staging, 'config') : aicoConfigDir(target, opts.env ?? process.env),
          })
        ).key
      : null;

    emit({ type: 'phase', phase: 'validate', message: 'Opening every restored database with its engine' });
    const validations = await validateStaged(staging, wanted, staged.metadata, libsqlKey, undefined, ctx.signal);
    maybeCrash('validated');

    const units: RestoreResult['units'] = [];
    const swapPaths: string[] = [];
    for (const unitName of wanted) {
      const unit = UNITS.find((u) => u.name === unitName)!;
      const present = (await Promise.all(unit.homePaths.map((p) => pathExists(path.join(target, p))))).some(Boolean);
      const size = staged.units[unitName] ?? { files: 0, bytes: 0 };
      const validation = validations.find((v) => v.unit === unitName) ?? null;
      if (opts.merge && present) {
        if (unit.mergeByFile) {
          const m = await mergeFiles(staging, target, unit.homePaths[0]!);
          swapPaths.push(...m.add);
          units.push({ name: unitName, action: m.add.length ? 'merge' : 'skip', files: m.add.length, bytes: size.bytes, skipped: m.skip, validation });
        } else {
          units.push({ name: unitName, action: 'skip', files: 0, bytes: 0, skipped: unit.homePaths.filter(Boolean), validation });
        }
        continue;
      }
      swapPaths.push(...unit.homePaths);
      units.push({ name: unitName, action: present ? 'replace' : 'add', files: size.files, bytes: size.bytes, skipped: [], validation });
    }

    const keyring = opts.keyring ?? systemKeyring;
    const importKey = inPlace && archiveKey !== null && selected.has('libsql') && !opts.dryRun;
    if (importKey && !opts.force) {
      const current = await keyring.get(MASTER_KEY_ACCOUNT).catch(() => null);
      const conflict = current !== null && !current.equals(archiveKey!);
      current?.fill(0);
      if (conflict) {
        throw new AicoError('KEY_CONFLICT', 'The keyring holds a different AICO master key than this backup; nothing was changed.', {
          hint: 'Export the current key first (aico backup key export FILE); then rerun with --force to restore and replace it.',
        });
      }
    }

    let safetyBackup: string | null = null;
    const replacing = units.filter((u) => u.action === 'replace');
    if (!opts.dryRun && opts.safetyBackupDir && replacing.length > 0) {
      emit({ type: 'phase', phase: 'archive', message: 'Saving what will be replaced (pre-restore safety backup)' });
      const safety = await create(
        {
          home: target,
          outputDir: opts.safetyBackupDir,
          encrypt: password !== null,
          password: password ? async () => Buffer.from(password!) : undefined,
          compression: 'zstd',
          compressionLevel: 3,
          include: replacing.map((u) => u.name),
          exclude: [],
          rawCopy: true,
          label: 'pre-restore',
          keyring: opts.keyring,
          env: opts.env,
          kdfIterations: opts.kdfIterations,
        },
        { signal: ctx.signal },
      );
      safetyBackup = safety.backup.path;
    }

    let keyringState: RestoreResult['masterKey']['keyring'] = 'not-imported';
    if (!opts.dryRun) {
      throwIfAborted(ctx.signal);
      emit({ type: 'phase', phase: 'swap', message: `Swapping the restored data into ${target}` });
      await swapIn({ target, staging, paths: swapPaths });
      if (importKey) {
        try {
          const r = await importMasterKey(staged.sealedKey!, async () => Buffer.from(password!), { keyring, force: true });
          keyringState = r.outcome;
        } catch (error) {
          if ((error as AicoError)?.code !== 'KEYRING_UNAVAILABLE') throw error;
          keyringState = 'unavailable';
          // Nothing to warn about when AICO_MASTER_KEY already is this backup's key.
          const envKey = (opts.env ?? process.env).AICO_MASTER_KEY;
          if (!(envKey && archiveKey && Buffer.from(envKey).equals(archiveKey))) warn('KEY_NOT_IMPORTED', `${(error as AicoError).message} The restored libSQL database needs this backup's master key: run "aico backup key import" with a keyring, or set AICO_MASTER_KEY.`);
        }
      }
    }
    archiveKey?.fill(0);
    localKey?.fill(0);
    const result: RestoreResult = {
      archive: { path: opts.path, id: staged.metadata.id },
      target,
      mode: opts.merge ? 'merge' : 'replace',
      dryRun: opts.dryRun ?? false,
      units,
      safetyBackup,
      masterKey: { source: keySource, keyring: keyringState },
      recovered,
      warnings,
      durationMs: Date.now() - started,
    };
    if (!opts.dryRun) await audit(target, result, 'ok');
    emit({ type: 'summary', op: 'restore', ok: true, durationMs: result.durationMs });
    return result;
  } finally {
    asked.value?.fill(0);
    await fs.rm(staging, { recursive: true, force: true });
    await lock.release();
  }
}

async function refuseIfInUse(target: string): Promise<void> {
  const holders = await processesHolding(path.join(target, 'data'));
  if (holders && holders.length > 0) {
    const h = holders[0]!;
    throw new AicoError('DATABASE_IN_USE', `AICO appears to be running on ${target}: ${h.command} (pid ${h.pid}) has ${h.file} open. Nothing was changed.`, {
      hint: 'Stop AICO and run the restore again, or pass --force if you are sure.',
      details: { pid: h.pid, command: h.command },
    });
  }
}

/** One line per restore in data/logs/backup-audit.log (0600). */
async function audit(
  target: string,
  r: { archive: { path: string; id: string }; units: { name: string }[]; mode: string },
  outcome: string,
): Promise<void> {
  const dir = path.join(target, 'data', 'logs');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const line = {
    time: new Date().toISOString(),
    user: userInfo().username,
    archive: path.basename(r.archive.path),
    archive_id: r.archive.id,
    databases: r.units.map((u) => u.name),
    mode: r.mode,
    result: outcome,
  };
  await fs.appendFile(path.join(dir, 'backup-audit.log'), `${JSON.stringify(line)}\n`, { mode: 0o600 });
}
