import type * as Engine from '../engine/index.js';

/**
 * The engine operations the TUI uses. Screens get them from context, so unit
 * tests can drive a screen with scripted events; the app passes the real
 * engine (src/engine/index.ts), the same functions the CLI calls.
 */
export interface EngineApi {
  list: typeof Engine.list;
  info: typeof Engine.info;
  verify: typeof Engine.verify;
  create: typeof Engine.create;
  restore: typeof Engine.restore;
  prepareRestore: typeof Engine.prepareRestore;
  deleteBackups: typeof Engine.deleteBackups;
  cleanup: typeof Engine.cleanup;
  scheduleStatus: typeof Engine.scheduleStatus;
  createSchedule: typeof Engine.createSchedule;
  changeSchedule: typeof Engine.changeSchedule;
  runDue: typeof Engine.runDue;
  migrationStatus: typeof Engine.migrationStatus;
  migrateEncrypt: typeof Engine.migrateEncrypt;
  mountHome: typeof Engine.mountHome;
  unmountHome: typeof Engine.unmountHome;
  describeHome: typeof Engine.describeHome;
  /** The password sources the CLI also uses (--password-file, $AICO_BACKUP_PASSWORD, the stored one), asked before prompting. */
  givenPassword: typeof Engine.givenPassword;
}

export interface TuiSettings {
  home: string;
  /** Backup directory (or s3:// URL) the screens work on: the one chosen with o, at first backup.output_dir or --output. */
  outputDir: string;
  /** Every configured place backups are kept, outputDir's first (knownStores); o on the list goes to the next. */
  stores?: string[];
  /** The configuration's backup section: what a create does unless the form changes it. */
  config: Engine.BackupConfig;
  /** --password-file, as the TUI was started with it (absolute). */
  passwordFile?: string;
}

export async function realEngine(): Promise<EngineApi> {
  const e = await import('../engine/index.js');
  return { list: e.list, info: e.info, verify: e.verify, create: e.create, restore: e.restore, prepareRestore: e.prepareRestore, deleteBackups: e.deleteBackups, cleanup: e.cleanup, scheduleStatus: e.scheduleStatus, createSchedule: e.createSchedule, changeSchedule: e.changeSchedule, runDue: e.runDue, migrationStatus: e.migrationStatus, migrateEncrypt: e.migrateEncrypt, mountHome: e.mountHome, unmountHome: e.unmountHome, describeHome: e.describeHome, givenPassword: e.givenPassword };
}
