import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readManifest } from '../archive/inspect.js';
import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import { AicoError, isAicoError, isNoSpace, throwIfAborted } from '../errors.js';
import { noopSink, type OperationContext } from '../events.js';
import { PARTIAL_SUFFIX, pathExists } from '../fsutil/atomic-file.js';
import { maybeCrash } from '../fsutil/fault.js';
import { acquireDirLock } from '../fsutil/lock.js';
import { openKeyFile } from '../keys/key-file.js';
import { MASTER_KEY_ACCOUNT, systemKeyring, type Keyring } from '../keys/keyring.js';
import { resolveMasterKey } from '../keys/master-key.js';
import { libsqlKeyFor } from '../keys/libsql-key.js';
import { aicoConfigDir } from '../home/aico-config.js';
import { processesHolding } from '../sources/in-use.js';
import { appendAudit, auditLogFor, type AuditRecord } from '../restore/audit.js';
import { recoverInterrupted, refuseIncompleteHome, swapIn } from '../restore/journal.js';
import { UNITS, unitsFor } from '../restore/layout.js';
import { noSpaceError, refuseIfNoSpace, refuseUnwritable, targetIoError } from '../restore/space.js';
import { applyRecorded, planPaths, stageArchive } from '../restore/stage.js';
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

/** Home-relative paths of the files under `root` in `base` (a home-like tree). */
async function filesUnder(base: string, root: string): Promise<string[]> {
  const dir = path.join(base, root);
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile() || e.isSymbolicLink()) out.push(path.posix.join(root, path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')));
  }
  return out;
}

/**
 * Config is restored file by file: the staged files new to the target, the
 * ones that exist there, and the target's files the backup does not hold
 * (kept in every mode: a backup that does not mention a file says nothing
 * about deleting it).
 */
async function configFiles(staging: string, target: string, root: string): Promise<{ add: string[]; existing: string[]; notInBackup: string[] }> {
  const staged = await filesUnder(staging, root);
  const add: string[] = [];
  const existing: string[] = [];
  for (const rel of staged) ((await pathExists(path.join(target, rel))) ? existing : add).push(rel);
  const inBackup = new Set(staged);
  const notInBackup = (await filesUnder(target, root)).filter((rel) => !inBackup.has(rel));
  return { add, existing, notInBackup };
}

/**
 * Restores a backup into the AICO home (or another directory): everything is
 * verified and staged on the target's filesystem first, every database is
 * opened with its engine and its counts compared with the backup's, and only
 * then are the units swapped in as one journaled transaction (see
 * restore/journal.ts). On any failure the target is left as it was.
 */
export async function restore(opts: RestoreOptions, ctx: OperationContext = {}): Promise<RestoreResult> {
  const target = path.resolve(opts.target ?? opts.home);
  try {
    return await restoreOrThrow(opts, ctx);
  } catch (caught) {
    // A full disk is the cause however deep it surfaced (a database engine, a validation copy): say so.
    const error = isNoSpace(caught) && !isAicoError(caught, 'NO_SPACE') && !isAicoError(caught, 'CANCELLED') ? noSpaceError(target, caught) : caught;
    // Refused and failed restores are recorded too, never inside the target they left untouched.
    if (!opts.dryRun) {
      const units = opts.configOnly ? ['config'] : opts.databases ?? ['all'];
      const record: AuditRecord = { archive: { path: opts.path, id: '?' }, target, units: units.map((name) => ({ name })), mode: opts.merge ? 'merge' : 'replace' };
      await auditLogFor('failed', target, opts.home, opts.env)
        .then((file) => appendAudit(file, record, `failed: ${(error as AicoError)?.code ?? 'INTERNAL'}`))
        .catch(() => {});
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
  // A real restore recovers an interrupted one first; a preview changes nothing, so it refuses instead.
  if (opts.dryRun) await refuseIncompleteHome(target);
  await refuseUnwritable(target);

  // The password is needed twice (archive, then encryption_key.enc): ask once.
  const asked: { value: Buffer | null } = { value: null };
  const cachedPassword: PasswordProvider | null = opts.password
    ? async () => Buffer.from((asked.value ??= await opts.password!()))
    : null;

  emit({ type: 'phase', phase: 'header', message: `Reading the manifest of ${opts.path}` });
  const reader = await ArchiveReader.open(opts.path, cachedPassword, ctx.signal);
  let plan;
  const declared: Record<string, number> = {};
  const sizes: { unit: string; size: number }[] = [];
  try {
    const { manifest } = await readManifest(reader);
    plan = planPaths(manifest);
    for (const f of manifest.files) {
      const unit = plan.get(f.path)!.unit;
      declared[unit] = (declared[unit] ?? 0) + f.size;
      sizes.push({ unit, size: f.size });
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
  const wantedUnits = wanted.map((name) => UNITS.find((u) => u.name === name)!);
  await refuseIfNoSpace({
    target,
    files: sizes.filter((f) => selected.has(f.unit)),
    databases: wantedUnits.filter((u) => !u.mergeByFile).map((u) => u.name),
    safety: opts.safetyBackupDir && !opts.dryRun && !opts.merge ? { dir: opts.safetyBackupDir, paths: wantedUnits.flatMap((u) => u.homePaths) } : null,
  });

  // Accepted: from here on the target is written to (lock, staging); a directory made for it goes again on failure.
  let made: string | undefined;
  let lock;
  try {
    made = await fs.mkdir(target, { recursive: true, mode: 0o700 });
    lock = await acquireDirLock(target, 'restore');
  } catch (error) {
    await removeMade(made, target);
    throw targetIoError(error, target);
  }
  if (lock.takeover) warn('STALE_LOCK', lock.takeover);
  const staging = path.join(target, `.aico-restore.${process.pid}${PARTIAL_SUFFIX}`);
  let succeeded = false;
  try {
    const recovered = await recoverInterrupted(target);
    if (recovered) {
      warn('RESTORE_RECOVERED', recovered === 'rolled-back'
        ? `An interrupted restore was found in ${target}; its changes were rolled back first.`
        : `An interrupted restore in ${target} had finished swapping; its clean-up was completed first.`);
    }
    if (!opts.force) await refuseIfInUse(target);

    await fs.mkdir(staging, { mode: 0o700 }).catch((error) => {
      throw targetIoError(error, target);
    });
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
    const validations = await validateStaged(staging, wanted, staged.metadata, libsqlKey, undefined, ctx.signal, warn);
    maybeCrash('validated');

    const units: RestoreResult['units'] = [];
    const swapPaths: string[] = [];
    for (const unitName of wanted) {
      const unit = UNITS.find((u) => u.name === unitName)!;
      const present = (await Promise.all(unit.homePaths.map((p) => pathExists(path.join(target, p))))).some(Boolean);
      const size = staged.units[unitName] ?? { files: 0, bytes: 0 };
      const validation = validations.find((v) => v.unit === unitName) ?? null;
      if (unit.mergeByFile && present) {
        const m = await configFiles(staging, target, unit.homePaths[0]!);
        if (opts.merge) {
          swapPaths.push(...m.add);
          units.push({ name: unitName, action: m.add.length ? 'merge' : 'skip', files: m.add.length, bytes: size.bytes, skipped: m.existing, validation });
        } else {
          swapPaths.push(...m.add, ...m.existing);
          units.push({ name: unitName, action: 'replace', files: size.files, bytes: size.bytes, skipped: m.notInBackup, validation });
        }
        continue;
      }
      if (opts.merge && present) {
        units.push({ name: unitName, action: 'skip', files: 0, bytes: 0, skipped: unit.homePaths.filter(Boolean), validation });
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
          preRestore: { archive: opts.path, archive_id: staged.metadata.id, target, units: replacing.map((u) => u.name) },
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
      await applyRecorded(staging, staged.files);
      emit({ type: 'phase', phase: 'swap', message: `Swapping the restored data into ${target}` });
      const only = opts.configOnly || opts.databases?.length ? wanted : [];
      await swapIn({ target, staging, paths: swapPaths, restoring: { archive: opts.path, units: only, inPlace } });
      if (importKey) {
        try {
          const r = await importMasterKey(staged.sealedKey!, async () => Buffer.from(password!), { keyring, force: true });
          keyringState = r.outcome;
        } catch (error) {
          if ((error as AicoError)?.code !== 'KEYRING_UNAVAILABLE') throw error;
          keyringState = 'unavailable';
          // Nothing to warn about when AICO_MASTER_KEY already is this backup's key.
          const envKey = (opts.env ?? process.env).AICO_MASTER_KEY;
          if (!(envKey && archiveKey && Buffer.from(envKey).equals(archiveKey))) warn('KEY_NOT_IMPORTED', `${(error as AicoError).message} The restored libSQL database needs this backup's master key: where a keyring is available run "aico backup key import ${opts.path}", keep it in a recovery file with "aico backup key export --from ${opts.path} FILE", or set AICO_MASTER_KEY.`);
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
    if (!opts.dryRun) await appendAudit(await auditLogFor('ok', target, opts.home), result, 'ok');
    emit({ type: 'summary', op: 'restore', ok: true, durationMs: result.durationMs });
    succeeded = true;
    return result;
  } finally {
    asked.value?.fill(0);
    await fs.rm(staging, { recursive: true, force: true });
    await lock.release();
    if (!succeeded || opts.dryRun) await removeMade(made, target);
  }
}

/** Removes the directories mkdir made for the target (`made` is the first), as long as they are empty. */
async function removeMade(made: string | undefined, target: string): Promise<void> {
  if (!made) return;
  for (let dir = target; dir.startsWith(made); dir = path.dirname(dir)) {
    if (!(await fs.rmdir(dir).then(() => true, () => false))) return;
    if (dir === made) return;
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
