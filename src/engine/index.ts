/**
 * The engine's only public door. The CLI and the TUI import from here and
 * nowhere else under src/engine; nothing here imports ink, react or the UI.
 */
export type { CreateOptions, CreateResult } from './ops/create.js';
// create for any store: a directory, or a bucket through a local spool (ops/create-remote.ts).
export { createBackup as create } from './ops/create-remote.js';
export { BACKUP_TYPES, type BackupType, type RequestedType } from './ops/create-type.js';
export type { ArchiveEntry, DeltaFile, PlannedFile } from './archive/writer.js';
export { verify, type VerifyOptions, type VerifyResult, type VerifyProblem } from './ops/verify.js';
export { info, type InfoOptions, type InfoResult } from './ops/info.js';
export { restore, prepareRestore, type PreparedRestore, type RestoreOptions, type RestoreResult, type UnitAction } from './ops/restore.js';
export { consolidate, type ConsolidateOptions, type ConsolidateResult } from './ops/consolidate.js';
export { deleteBackups, type DeleteOptions, type DeleteResult, type DeletedBackup } from './ops/delete.js';
export { cleanup, type CleanupEntry, type CleanupOptions, type CleanupResult } from './ops/cleanup.js';
export { applyPolicy, periodOf, type Decision, type KeepRules } from './retention/policy.js';
export { parseSpan, formatSpan, type Span } from './retention/duration.js';
export { checkTimeZone, localTimeZone } from './retention/time-zone.js';
export { parseBackupTime } from './ops/backup-time.js';
export type { ReadingProcess } from './ops/delete-readers.js';
export { describeHome, type HomeSource } from './ops/describe-home.js';
export { list, type BackupEntry, type ListResult } from './ops/list.js';
export type { EngineEvent, EventSink, OperationContext, OperationName, PhaseName } from './events.js';
export { AicoError, ERROR_CODES, EXIT_CODES, isAicoError, passwordRequired, type ErrorCode, type ExitCode, type PasswordPurpose } from './errors.js';
export { VERIFY_PROBLEM_CODES, WARNING_CODES, type VerifyProblemCode, type Warning, type WarningCode } from './codes.js';
export { CODEC_NAMES, type CodecName } from './codec/index.js';
export { loadConfig, resolveHome, expandTilde, type LoadedConfig } from './config/load.js';
export type { BackupConfig } from './config/schema.js';
export { createOptionsFrom, outputDirFrom, selectedSources, type CreateFlags, type CreatePlan } from './config/create-options.js';
export { SOURCE_NAMES } from './sources/catalog.js';
export { acquireDirLock, LOCK_NAME, type DirLock } from './fsutil/lock.js';
export { HOME_LAYOUT, unitOf, type HomeUnit } from './home/layout.js';
export type { Metadata, Manifest, ManifestFile } from './archive/metadata.js';
export type { PasswordProvider } from './archive/reader.js';
export { TOOL_VERSION } from './version.js';
export { seedFiles, type SeedOptions } from './sample/seed.js';
export { churnHome, type ChurnOptions, type ChurnResult } from './sample/churn.js';
export { seedSample, sampleMasterKey, sampleSeedOf, WORKING_STORES, type SampleOptions, type WorkingStore } from './sample/seed-home.js';
export {
  exportMasterKey,
  importMasterKey,
  importMasterKeyFrom,
  readKeyFile,
  setStoredBackupPassword,
  clearStoredBackupPassword,
  storedBackupPasswordStatus,
  storedBackupPassword,
} from './ops/keys.js';
export { givenPassword, readPasswordFile, stripNewline, type GivenPassword, type PasswordLookup, type PasswordSource } from './ops/password.js';
export { Keyring, KEYRING_SERVICE, MASTER_KEY_ACCOUNT, BACKUP_PASSWORD_ACCOUNT } from './keys/keyring.js';
export { resolveMasterKey, deriveLibsqlKey, type MasterKeySource } from './keys/master-key.js';
export { formatBytes, formatDuration, formatInZone } from './format.js';
export { progressFigures, progressFraction, progressPercent, progressText, type ProgressFigures } from './progress.js';
export { keepRulesFrom, describeRules, type RetentionFlags } from './config/retention-options.js';
export { createSchedule, changeSchedule, type ScheduleChange } from './schedule/manage.js';
export { runDue, type RunDueOptions, type RunDueResult, type ScheduleRun } from './schedule/run-due.js';
export { scheduleStatus, type ScheduleStatus } from './schedule/status.js';
export { installSchedule, uninstallSchedule, installedMethod, systemdUnits, cronLine, unitName, type InstallResult } from './schedule/install.js';
export { cronOf, nextRuns, lastScheduled, checkCron } from './schedule/times.js';
export { FREQUENCIES, WEEKDAYS, SCHEDULE_TYPES, FULL_EVERY } from './schedule/constants.js';
export type { Schedule, ScheduleInput } from './schedule/model.js';
export { backupLogFile } from './schedule/log.js';
export { migrateEncrypt, type MigrateOptions, type MigrateResult } from './migrate/encrypt.js';
export { migrationStatus, mountHome, unmountHome, rollbackMigration, finalizeMigration, type MigrationStatus, type RollbackResult, type FinalizeResult } from './migrate/manage.js';
export { checkTools as checkMigrationTools } from './migrate/gocryptfs.js';
export { compareTrees, type Comparison } from './migrate/compare.js';
export { configureS3, type S3Settings } from './store/s3-settings.js';
export { knownStores } from './config/stores.js';
export { resolveLocation } from './store/location.js';
export { isRemote, storeFor, type BackupStore, type StoredBackup } from './store/index.js';
export { sync, type SyncOptions, type SyncResult, type SyncedBackup } from './ops/sync.js';
export { remoteLogin, remoteLogout, remoteStatus, type RemoteStatus } from './store/remote-login.js';
export { closeConnections } from './store/s3-client.js';
