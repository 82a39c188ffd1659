import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readBlockIndex } from '../archive/block-index.js';
import { formatVersionOf, readManifest, readMetadata, type ReadManifest } from '../archive/inspect.js';
import { DELTA_FORMAT_VERSION } from '../archive/layout.js';
import { closeLinks, resolveChain, type ChainLink } from './chain.js';
import { stageChain } from '../restore/stage-chain.js';
import { ArchiveReader, type PasswordProvider } from '../archive/reader.js';
import { AicoError, isAicoError, isNoSpace, throwIfAborted } from '../errors.js';
import type { WarningCode } from '../codes.js';
import { nestedContext, noopSink, type EventSink, type OperationContext } from '../events.js';
import { PARTIAL_SUFFIX, pathExists } from '../fsutil/atomic-file.js';
import { maybeCrash } from '../fsutil/fault.js';
import { acquireDirLock, type DirLock } from '../fsutil/lock.js';
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
import { planDrift, planSwap, type SwapPlan, type UnitOutcome } from '../restore/plan.js';
import { applyRecorded, planPaths, stageArchive, type StageResult } from '../restore/stage.js';
import { UnitValidations } from '../restore/validate.js';
import type { Metadata } from '../archive/metadata.js';
import { createBackup as create } from './create-remote.js';
import { storeMasterKey } from './keys.js';

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

export type { UnitAction } from '../restore/plan.js';

export interface RestoreResult {
  archive: { path: string; id: string };
  target: string;
  mode: 'replace' | 'merge';
  dryRun: boolean;
  units: UnitOutcome[];
  safetyBackup: string | null;
  masterKey: { source: 'archive' | 'keyring' | 'env' | 'none'; keyring: 'stored' | 'unchanged' | 'not-imported' | 'unavailable' };
  recovered: 'rolled-back' | 'completed' | null;
  warnings: { code: WarningCode; message: string }[];
  durationMs: number;
}

/**
 * A restore that is staged, verified and validated but has not touched the
 * target yet: `preview` says what it will do (as a dry run does), `commit`
 * does it without reading the archive again, `discard` drops it. Until one
 * of those, it holds the target's lock and its staging directory; a process
 * that dies meanwhile leaves a staging directory the next run removes.
 */
export interface PreparedRestore {
  readonly preview: RestoreResult;
  /**
   * The safety backup and the swap, once the archive file and the target are
   * found as they were when prepared (else nothing is changed). Runs once;
   * staging and lock are gone afterwards, whatever the outcome.
   */
  commit(ctx?: OperationContext): Promise<RestoreResult>;
  /** Removes the staging and releases the target, which is left as it was. Harmless after commit or a second time. */
  discard(): Promise<void>;
}

/** Everything between prepare and commit: the target held, what is staged, the secrets to use once. */
interface Prepared {
  opts: RestoreOptions;
  target: string;
  inPlace: boolean;
  lock: DirLock;
  /** The first directory mkdir made for the target, removed again if the restore does not happen. */
  made: string | undefined;
  staging: string;
  password: { value: Buffer | null };
  archiveKey: Buffer | null;
  localKey: Buffer | null;
  keySource: RestoreResult['masterKey']['source'];
  staged: StageResult;
  wanted: string[];
  plan: SwapPlan;
  /** The archive file as it was before its manifest was read. */
  archiveStamp: string | null;
  recovered: RestoreResult['recovered'];
  warnings: RestoreResult['warnings'];
  /** Time spent preparing: a commit adds its own, not the time a user took to confirm. */
  preparedMs: number;
  state: 'prepared' | 'committing' | 'released';
}

async function nonEmpty(dir: string): Promise<boolean> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.some((n) => !n.startsWith('.aico-'));
}

/** Which file `file` is and what it holds, as far as stat can tell (identity, size, mtime to the nanosecond). */
async function archiveStamp(file: string): Promise<string | null> {
  const st = await fs.stat(file, { bigint: true }).catch(() => null);
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}` : null;
}

function warner(warnings: RestoreResult['warnings'], emit: EventSink) {
  return (code: WarningCode, message: string) => {
    warnings.push({ code, message });
    emit({ type: 'warning', code, message });
  };
}

/** A full disk is the cause however deep it surfaced (a database engine, a validation copy): say so. */
function asRestoreError(caught: unknown, target: string): unknown {
  return isNoSpace(caught) && !isAicoError(caught, 'NO_SPACE') && !isAicoError(caught, 'CANCELLED') ? noSpaceError(target, caught) : caught;
}

/** Refused and failed restores are recorded too, never inside the target they left untouched. */
async function auditFailure(opts: RestoreOptions, target: string, error: unknown): Promise<void> {
  const units = opts.configOnly ? ['config'] : opts.databases ?? ['all'];
  const record: AuditRecord = { archive: { path: opts.path, id: '?' }, target, units: units.map((name) => ({ name })), mode: opts.merge ? 'merge' : 'replace' };
  await auditLogFor('failed', target, opts.home, opts.env)
    .then((file) => appendAudit(file, record, `failed: ${isAicoError(error) ? error.code : 'INTERNAL'}`))
    .catch(() => {});
}

/**
 * Restores a backup into the AICO home (or another directory): everything is
 * verified and staged on the target's filesystem first, every database is
 * opened with its engine and its counts compared with the backup's, and only
 * then are the units swapped in as one journaled transaction (see
 * restore/journal.ts). On any failure the target is left as it was.
 * A dry run prepares and discards; a real one prepares and commits.
 */
export async function restore(opts: RestoreOptions, ctx: OperationContext = {}): Promise<RestoreResult> {
  const target = path.resolve(opts.target ?? opts.home);
  try {
    // A real restore recovers an interrupted one first; a preview changes nothing, so it refuses instead.
    const prepared = await prepare(opts, ctx, !opts.dryRun);
    if (!opts.dryRun) return await commitPrepared(prepared, ctx);
    await release(prepared, false);
    const preview = previewOf(prepared);
    (ctx.onEvent ?? noopSink)({ type: 'summary', op: 'restore', ok: true, durationMs: preview.durationMs });
    return preview;
  } catch (caught) {
    const error = asRestoreError(caught, target);
    if (!opts.dryRun) await auditFailure(opts, target, error);
    throw error;
  }
}

/**
 * Prepares a restore to be confirmed: the archive is read, verified and
 * staged, the databases validated, and the result previewed, as a dry run
 * does, but the staging is kept for commit() (see PreparedRestore). Like a
 * dry run it refuses a home an interrupted restore left half swapped
 * (HOME_INCOMPLETE) rather than recovering it: nothing changes before commit.
 */
export async function prepareRestore(opts: Omit<RestoreOptions, 'dryRun'>, ctx: OperationContext = {}): Promise<PreparedRestore> {
  const full: RestoreOptions = { ...opts, dryRun: false };
  const target = path.resolve(opts.target ?? opts.home);
  let prepared: Prepared;
  try {
    prepared = await prepare(full, ctx, false);
  } catch (caught) {
    throw asRestoreError(caught, target);
  }
  return {
    preview: previewOf(prepared),
    async commit(commitCtx: OperationContext = {}) {
      if (prepared.state !== 'prepared') throw new AicoError('INTERNAL', 'This prepared restore was already committed or discarded.');
      (commitCtx.onEvent ?? noopSink)({ type: 'start', op: 'restore', path: opts.path });
      try {
        return await commitPrepared(prepared, commitCtx);
      } catch (caught) {
        const error = asRestoreError(caught, target);
        await auditFailure(full, target, error);
        throw error;
      }
    },
    async discard() {
      // A commit under way releases everything itself when it ends.
      if (prepared.state === 'prepared') await release(prepared, false);
    },
  };
}

function previewOf(p: Prepared): RestoreResult {
  return {
    archive: { path: p.opts.path, id: p.staged.metadata.id },
    target: p.target,
    mode: p.opts.merge ? 'merge' : 'replace',
    dryRun: true,
    units: p.plan.units,
    safetyBackup: null,
    masterKey: { source: p.keySource, keyring: 'not-imported' },
    recovered: p.recovered,
    warnings: [...p.warnings],
    durationMs: p.preparedMs,
  };
}

/** Everything up to the point where the target would change; on failure nothing of it is left. */
async function prepare(opts: RestoreOptions, ctx: OperationContext, recover: boolean): Promise<Prepared> {
  const started = Date.now();
  const emit = ctx.onEvent ?? noopSink;
  const warnings: RestoreResult['warnings'] = [];
  const warn = warner(warnings, emit);
  emit({ type: 'start', op: 'restore', path: opts.path });
  if (opts.merge && opts.force) throw new AicoError('USAGE', '--merge leaves existing data alone and --force replaces it: choose one.');
  const inPlace = !opts.target || path.resolve(opts.target) === path.resolve(opts.home);
  const target = path.resolve(opts.target ?? opts.home);
  if (!inPlace && (await nonEmpty(target)) && !opts.force && !opts.merge) {
    throw new AicoError('USAGE', `${target} is not empty.`, { hint: 'Restore into an empty or new directory, or pass --merge (add what is missing) or --force (replace).' });
  }
  if (!recover) await refuseIncompleteHome(target);
  await refuseUnwritable(target);

  // The password is needed twice (archive, then encryption_key.enc): ask once.
  const asked: { value: Buffer | null } = { value: null };
  const cachedPassword: PasswordProvider | null = opts.password
    ? async () => Buffer.from((asked.value ??= await opts.password!()))
    : null;

  emit({ type: 'phase', phase: 'header', message: `Reading the manifest of ${opts.path}` });
  const stamp = await archiveStamp(opts.path);
  const reader = await ArchiveReader.open(opts.path, cachedPassword, ctx.signal);
  let chain: ChainLink[] | null = null;
  // One reader for the manifest and the walk: the key is derived once, and the walk reads the very file
  // (and manifest) the restore was planned from.
  try {
    const read = await readManifest(reader);
    // A restore point of a chain: every backup it builds on is opened and checked before anything is written.
    chain = read.manifest.format === DELTA_FORMAT_VERSION ? await openChain(opts.path, reader, read, cachedPassword, ctx.signal) : null;
    const plan = planPaths(read.manifest);
    const declared: Record<string, number> = {};
    const sizes: { unit: string; size: number; path: string }[] = [];
    for (const f of read.manifest.files) {
      const unit = plan.get(f.path)!.unit;
      declared[unit] = (declared[unit] ?? 0) + f.size;
      sizes.push({ unit, size: f.size, path: f.path });
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
    const secrets: { archiveKey: Buffer | null; localKey: Buffer | null } = { archiveKey: null, localKey: null };
    let ready = false;
    try {
      const recovered = recover ? await recoverInterrupted(target) : null;
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
      // The key that opens the restored libSQL database: the backup's own master key first.
      let keySource: RestoreResult['masterKey']['source'] = 'none';
      const password = asked.value;
      const seen: { sealedKey: Buffer | null; metadata: Metadata | null } = { sealedKey: null, metadata: null };
      let derived: Promise<string | null> | null = null;
      const libsqlKey = () =>
        (derived ??= (async () => {
          if (seen.sealedKey && password) {
            secrets.archiveKey = (await openKeyFile(seen.sealedKey, password, 'encryption_key.enc')).secret;
            keySource = 'archive';
          }
          if (!secrets.archiveKey && selected.has('libsql')) {
            const resolved = await resolveMasterKey(opts.keyring, opts.env);
            secrets.localKey = resolved.key;
            keySource = resolved.source;
          }
          const masterKey = secrets.archiveKey ?? secrets.localKey;
          if (!selected.has('libsql')) return null;
          // Derived once, with the iterations recorded at backup time (else the backup's own AICO config, else the target's).
          return (
            await libsqlKeyFor(staging, masterKey, {
              env: opts.env ?? process.env,
              iterations: seen.metadata?.databases.libsql?.kdf_iterations,
              configDir: (await pathExists(path.join(staging, 'config'))) ? path.join(staging, 'config') : aicoConfigDir(target, opts.env ?? process.env),
            })
          ).key;
        })());
      let checks: UnitValidations | null = null;
      const validatorFor = (metadata: Metadata) =>
        (checks ??= new UnitValidations({ staging, units: wanted, metadata, libsqlKey, signal: ctx.signal, warn }));
      const onUnitStaged = (unit: string, metadata: Metadata, sealedKey: Buffer | null) => {
        Object.assign(seen, { metadata, sealedKey });
        // Without recorded iterations the key may depend on the backup's config, which is staged last.
        if (unit === 'libsql' && metadata.databases.libsql?.kdf_iterations === undefined) return;
        validatorFor(metadata).start(unit);
      };
      const stageCtx = nestedContext(ctx, 'restore', 'verify');
      const staged = await (chain
        ? stageChain({ links: chain, staging, units: selected, plan, onUnitStaged }, stageCtx)
        : stageArchive({ reader, manifest: read, staging, units: selected, plan, onUnitStaged }, stageCtx)
      ).catch(
        async (error) => {
          await checks?.abandon();
          throw error;
        },
      );
      Object.assign(seen, { metadata: staged.metadata, sealedKey: staged.sealedKey });
      // Validation can take long: meanwhile the archive is not held open (delete would report this restore as a reader).
      await reader.close();
      if (chain) await closeLinks(chain);
      throwIfAborted(ctx.signal);
      maybeCrash('staged');

      emit({ type: 'phase', phase: 'validate', message: 'Opening every restored database with its engine' });
      const unitChecks = validatorFor(staged.metadata);
      await libsqlKey().catch(async (error) => {
        await unitChecks.abandon();
        throw error;
      });
      const validations = await unitChecks.finish();
      maybeCrash('validated');

      const swapPlan = await planSwap({ staging, target, wanted, merge: opts.merge ?? false, staged: staged.units, validations });
      ready = true;
      return {
        opts,
        target,
        inPlace,
        lock,
        made,
        staging,
        password: asked,
        ...secrets,
        keySource,
        staged,
        wanted,
        plan: swapPlan,
        archiveStamp: stamp,
        recovered,
        warnings,
        preparedMs: Date.now() - started,
        state: 'prepared',
      };
    } finally {
      if (!ready) {
        asked.value?.fill(0);
        secrets.archiveKey?.fill(0);
        secrets.localKey?.fill(0);
        await fs.rm(staging, { recursive: true, force: true });
        await lock.release();
        await removeMade(made, target);
      }
    }
  } finally {
    await reader.close();
    if (chain) await closeLinks(chain);
  }
}

/** The chain of the restore point `reader` has open, newest first, each link checked against its parent (ops/chain.ts). */
async function openChain(file: string, reader: ArchiveReader, read: ReadManifest, password: PasswordProvider | null, signal?: AbortSignal): Promise<ChainLink[]> {
  const { metadata } = await readMetadata(reader);
  formatVersionOf(metadata);
  const index = await readBlockIndex(reader, signal);
  if (!index.manifestRaw.equals(read.raw)) throw new AicoError('CORRUPT_ARCHIVE', `${file} changed while it was read.`);
  return resolveChain({ path: file, reader, metadata, index }, password, signal);
}

/**
 * The part of a restore that changes the target: it first checks that what
 * was prepared still holds (the archive file, the target's units, nobody
 * running on it, the keyring's key), then saves what it replaces and swaps.
 */
async function commitPrepared(p: Prepared, ctx: OperationContext): Promise<RestoreResult> {
  if (p.state !== 'prepared') throw new AicoError('INTERNAL', 'This prepared restore was already committed or discarded.');
  p.state = 'committing';
  const started = Date.now();
  const { opts, target, staging } = p;
  const emit = ctx.onEvent ?? noopSink;
  const warn = warner(p.warnings, emit);
  const selected = new Set(p.wanted);
  let succeeded = false;
  try {
    throwIfAborted(ctx.signal);
    if ((await archiveStamp(opts.path)) !== p.archiveStamp) {
      throw new AicoError('IO_ERROR', `${opts.path} changed after it was read and checked for this restore (it is not the same file, size or modification time). Nothing was changed in ${target}.`, {
        hint: 'Run the restore again: it reads and checks the backup anew.',
      });
    }
    if (!opts.force) await refuseIfInUse(target);
    // What the swap relies on: each unit's action (the safety backup covers the replaced ones) and the paths it writes.
    const units = await planSwap({ staging, target, wanted: p.wanted, merge: opts.merge ?? false, staged: p.staged.units, validations: p.plan.units.flatMap((u) => (u.validation ? [u.validation] : [])) });
    const drift = planDrift(p.plan, units);
    if (drift) {
      throw new AicoError('IO_ERROR', `${target} changed since this restore was checked: ${drift}. Nothing was changed.`, {
        hint: 'Run the restore again (preview it again in the terminal UI) so it is checked against the target as it is now.',
      });
    }

    const password = p.password.value;
    const keyring = opts.keyring ?? systemKeyring;
    const importKey = p.inPlace && p.archiveKey !== null && selected.has('libsql');
    if (importKey && !opts.force) {
      const current = await keyring.get(MASTER_KEY_ACCOUNT).catch(() => null);
      const conflict = current !== null && !current.equals(p.archiveKey!);
      current?.fill(0);
      if (conflict) {
        throw new AicoError('KEY_CONFLICT', 'The keyring holds a different AICO master key than this backup; nothing was changed.', {
          hint: 'Export the current key first (aico backup key export FILE); then rerun with --force to restore and replace it.',
        });
      }
    }

    let safetyBackup: string | null = null;
    const replacing = units.units.filter((u) => u.action === 'replace');
    if (opts.safetyBackupDir && replacing.length > 0) {
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
          preRestore: { archive: opts.path, archive_id: p.staged.metadata.id, target, units: replacing.map((u) => u.name) },
          keyring: opts.keyring,
          env: opts.env,
          kdfIterations: opts.kdfIterations,
        },
        nestedContext(ctx, 'restore', 'create'),
      );
      safetyBackup = safety.backup.path;
    }

    let keyringState: RestoreResult['masterKey']['keyring'] = 'not-imported';
    throwIfAborted(ctx.signal);
    await applyRecorded(staging, p.staged.files);
    emit({ type: 'phase', phase: 'swap', message: `Swapping the restored data into ${target}` });
    const only = opts.configOnly || opts.databases?.length ? p.wanted : [];
    await swapIn({ target, staging, paths: units.paths, restoring: { archive: opts.path, units: only, inPlace: p.inPlace } });
    if (importKey) {
      try {
        // The key prepare opened from encryption_key.enc: opening it again would cost another key derivation.
        const r = await storeMasterKey(Buffer.from(p.archiveKey!), { keyring, force: true });
        keyringState = r.outcome;
      } catch (error) {
        if (!isAicoError(error, 'KEYRING_UNAVAILABLE')) throw error;
        keyringState = 'unavailable';
        // Nothing to warn about when AICO_MASTER_KEY already is this backup's key.
        const envKey = (opts.env ?? process.env).AICO_MASTER_KEY;
        if (!(envKey && p.archiveKey && Buffer.from(envKey).equals(p.archiveKey))) warn('KEY_NOT_IMPORTED', `${error.message} The restored libSQL database needs this backup's master key: where a keyring is available run "aico backup key import ${opts.path}", keep it in a recovery file with "aico backup key export --from ${opts.path} FILE", or set AICO_MASTER_KEY.`);
      }
    }
    const result: RestoreResult = {
      archive: { path: opts.path, id: p.staged.metadata.id },
      target,
      mode: opts.merge ? 'merge' : 'replace',
      dryRun: false,
      units: units.units,
      safetyBackup,
      masterKey: { source: p.keySource, keyring: keyringState },
      recovered: p.recovered,
      warnings: p.warnings,
      durationMs: p.preparedMs + (Date.now() - started),
    };
    await appendAudit(await auditLogFor('ok', target, opts.home), result, 'ok');
    emit({ type: 'summary', op: 'restore', ok: true, durationMs: result.durationMs });
    succeeded = true;
    return result;
  } finally {
    await release(p, succeeded);
  }
}

/** Drops what prepare() holds: secrets, staging, lock, and a target directory it made (unless the restore went in). */
async function release(p: Prepared, succeeded: boolean): Promise<void> {
  if (p.state === 'released') return;
  p.state = 'released';
  p.password.value?.fill(0);
  p.archiveKey?.fill(0);
  p.localKey?.fill(0);
  await fs.rm(p.staging, { recursive: true, force: true });
  await p.lock.release();
  if (!succeeded) await removeMade(p.made, p.target);
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
