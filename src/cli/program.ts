import { Command, Option } from 'commander';
import { CODEC_NAMES, EXIT_CODES, FREQUENCIES, FULL_EVERY, SCHEDULE_TYPES, SOURCE_NAMES, TOOL_VERSION, WEEKDAYS, WORKING_STORES } from '../engine/index.js';
import type { GlobalFlags, RunContext } from './context.js';
import { runCreate } from './commands/create.js';
import { runConsolidate } from './commands/consolidate.js';
import { runDelete } from './commands/delete.js';
import { runCleanup } from './commands/cleanup.js';
import { runMigrateEncrypt, runMigrateFinalize, runMigrateMount, runMigrateRollback, runMigrateStatus, runMigrateUnmount, runMigrateVerify } from './commands/migrate.js';
import { runScheduleChange, runScheduleCreate, runScheduleInstall, runScheduleList, runScheduleRunDue, runScheduleUninstall } from './commands/schedule.js';
import { runInfo, runList, runVerify } from './commands/inspect.js';
import { runSeed } from './commands/seed.js';
import { runRemoteLogin, runRemoteLogout, runRemoteStatus, runSync } from './commands/remote.js';
import { runChurn } from './commands/churn.js';
import { runRestore } from './commands/restore.js';
import { runKeyExport, runKeyImport, runPasswordClear, runPasswordSet, runPasswordStatus } from './commands/keys.js';

/** From the engine's table, so a new exit code cannot be left out of --help. */
const EXIT_CODES_HELP = `
Exit codes:
${Object.entries(EXIT_CODES)
  .map(([code, meaning]) => `  ${code.padEnd(5)}${meaning}`)
  .join('\n')}`;

/** One list for every option that takes source names (the engine's own table, aliases included). */
const SOURCE_LIST = `comma-separated: ${SOURCE_NAMES.join(', ')}`;

const passwordOptions = (cmd: Command) =>
  cmd
    .option('--password-stdin', 'read the backup password from standard input')
    .option('--password-file <file>', 'read the backup password from a file');

/** Builds the command tree; `run` receives each command's handler with its context. */
export function buildProgram(
  run: (fn: (ctx: RunContext) => Promise<void>, flags: GlobalFlags) => Promise<void>,
  json: boolean,
): Command {
  const program = new Command('aico')
    .description('Backup, restore and encryption migration for AICO')
    .version(TOOL_VERSION)
    .option('--home <dir>', 'AICO home (default: $AICO_HOME or ${XDG_DATA_HOME:-~/.local/share}/aico)')
    .option('--json', 'print one JSON document on stdout (progress as JSON lines on stderr)')
    .showHelpAfterError(false)
    .addHelpText('after', `
Terminal UI: run "aico" (or "aico backup") on a terminal with no command; it takes
--home DIR, --output DIR (the backup directory) and --password-file FILE, and like the
commands it uses $AICO_BACKUP_PASSWORD or a stored password before asking for one.${EXIT_CODES_HELP}`)
    // Set before subcommands are added: they inherit these. Usage errors then exit 2 (and print JSON under --json).
    .exitOverride()
    .configureOutput({ writeErr: (s) => void (json ? undefined : process.stderr.write(s)) });

  const globals = (cmd: Command): GlobalFlags => cmd.optsWithGlobals() as GlobalFlags;
  const backup = program.command('backup').description('create, verify, inspect and list backups').addHelpText('after', EXIT_CODES_HELP);

  passwordOptions(
    backup
      .command('create')
      .description('create a backup of the AICO home: full, or only what changed since an earlier one')
      .option('-o, --output <dir>', 'directory for the archive (default: backup.output_dir, ~/backups/aico/)')
      .option('--no-encrypt', 'write an unencrypted archive')
      .option('--no-compress', 'do not compress (same as --compression none)')
      .addOption(new Option('--compression <alg>', 'compression algorithm').choices(CODEC_NAMES))
      .option('--compression-level <n>', 'compression level 1 (fast) .. 9 (small)')
      .option('--include <list>', `only these sources (${SOURCE_LIST})`)
      .option('--exclude <list>', `leave out these sources (${SOURCE_LIST})`)
      .option('--allow-live', 'copy a database that is in use anyway (Chroma, RocksDB); marked inconsistent')
      .option('--type <type>', 'full; incremental (since the newest backup); differential (since the newest full); auto (incremental, else full)', 'full')
      .option('--parent <backup>', 'build on this backup (path or id) instead of the newest one')
      .option('--max-chain <n>', 'longest incremental chain to make (default: backup.max_chain, 14)')
      .option('--time <time>', 'record this backup time instead of now: "YYYY-MM-DD HH:MM[:SS]", local (to import old backups)'),
  ).action(async (flags, cmd: Command) => {
    // Commander reports --no-encrypt as encrypt=false and defaults it to true; only an explicit flag overrides the config.
    const explicit = (name: string) => cmd.getOptionValueSource(name) === 'cli';
    await run((ctx) => runCreate(ctx, { ...flags, encrypt: explicit('encrypt') ? flags.encrypt : undefined, compress: explicit('compress') ? flags.compress : undefined }), globals(cmd));
  });

  passwordOptions(backup.command('verify').description('check every byte of a backup against its manifest').argument('<file>')).action(
    async (file: string, flags, cmd: Command) => run((ctx) => runVerify(ctx, file, flags), globals(cmd)),
  );

  passwordOptions(backup.command('info').description('show the metadata and contents summary of a backup').argument('<file>')).action(
    async (file: string, flags, cmd: Command) => run((ctx) => runInfo(ctx, file, flags), globals(cmd)),
  );

  passwordOptions(
    backup
      .command('restore')
      .description('restore a backup: verified, staged, validated with each database engine, swapped in with rollback')
      .argument('<file>')
      .option('--target <dir>', 'restore into another directory (empty or new) instead of the AICO home')
      .option('--database <list>', `only these sources (${SOURCE_LIST})`)
      .option('--config-only', 'only the configuration')
      .option('--dry-run', 'verify and validate everything, print what would change, change nothing')
      .option('--force', 'restore even if AICO seems to be running, over a non-empty --target, replacing a different master key')
      .option('--merge', 'add what is missing, leave existing databases and files as they are')
      .option('--no-safety-backup', 'do not save what is replaced as a pre-restore backup first')
      .option('-o, --output <dir>', 'where the pre-restore safety backup goes (default: backup.output_dir)'),
  ).action(async (file: string, flags, cmd: Command) => run((ctx) => runRestore(ctx, file, flags), globals(cmd)));

  passwordOptions(
    backup
      .command('consolidate')
      .description('write a full backup of an incremental or differential restore point from its chain (the chain is not changed)')
      .argument('<file>')
      .option('-o, --output <dir>', 'where the full backup goes (default: the directory of <file>)'),
  ).action(async (file: string, flags, cmd: Command) => run((ctx) => runConsolidate(ctx, file, flags), globals(cmd)));

  passwordOptions(
    backup
      .command('delete')
      .description('delete backup archives (only files named like backups; one bad name deletes nothing)')
      .argument('<file...>')
      .option('--with-dependents', 'also delete every backup that builds on them (refused otherwise)')
      .option('--consolidate', 'keep the restore points of the backups that build on them: write each as a full backup first')
      .option('--dry-run', 'check and list what would be deleted, delete nothing'),
  ).action(async (files: string[], flags, cmd: Command) => run((ctx) => runDelete(ctx, files, flags), globals(cmd)));

  passwordOptions(
    backup
      .command('cleanup')
      .description('remove the backups a retention policy does not keep (never one a kept backup builds on)')
      .argument('[dir]', 'backup directory (default: backup.output_dir)')
      .option('-o, --output <dir>', 'backup directory, as for create')
      .option('--keep-last <n>', 'keep the newest N backups')
      .option('--keep <n>', 'the same as --keep-last')
      .option('--keep-hourly <n>', 'keep the newest backup of each of the last N hours that have one')
      .option('--keep-daily <n>', 'of each of the last N days that have one')
      .option('--keep-weekly <n>', 'of each of the last N ISO weeks that have one')
      .option('--keep-monthly <n>', 'of each of the last N months that have one')
      .option('--keep-yearly <n>', 'of each of the last N years that have one')
      .option('--keep-within <span>', 'keep every backup this close to the newest one: 30d, 1y6m, 2d12h')
      .option('--keep-safety <n>', 'pre-restore safety backups to keep (default: retention.keep_safety, 3)')
      .option('--tz <zone>', 'time zone the periods are counted in (default: the local zone)')
      .option('--consolidate', 'write a full backup of a kept incremental whose chain is kept only for it, so that chain can go')
      .option('--dry-run', 'show what would be kept and removed, and why; remove nothing')
      .addHelpText('after', `
Rules given as flags replace the retention: policy in core.yaml; with none, that policy
applies. Rules are ORed, as restic forget's. The newest backup that verifies is never
removed, and it is verified (chain and all) before anything is: give its password as for
verify. See docs/RETENTION.md.`),
  ).action(async (dir: string | undefined, flags, cmd: Command) => run((ctx) => runCleanup(ctx, dir, flags), globals(cmd)));

  backup
    .command('list')
    .description('list the backups in a directory, newest first (no password needed)')
    .argument('[dir]')
    .option('-v, --verbose', 'show ids, format versions and sources')
    .action(async (dir: string | undefined, flags, cmd: Command) => run((ctx) => runList(ctx, dir, flags), globals(cmd)));

  backup
    .command('sync')
    .description('copy the backups SRC has and DST lacks (directories or s3:// URLs), each read back and compared')
    .argument('<src>')
    .argument('<dst>')
    .option('--delete', 'also delete from DST the backups SRC no longer has (mirrors its cleanup)')
    .option('-n, --dry-run', 'say what would be copied and deleted, change nothing')
    .action(async (src: string, dst: string, flags, cmd: Command) => run((ctx) => runSync(ctx, src, dst, flags), globals(cmd)));

  const remote = backup.command('remote').description('credentials for s3:// backup locations, kept in the keyring (docs/REMOTE.md)');
  remote.command('login').description('store an access key for the endpoint (asked, or two lines on stdin)').action(async (_f, cmd: Command) => run((ctx) => runRemoteLogin(ctx), globals(cmd)));
  remote.command('logout').description('remove the stored access key of the endpoint').action(async (_f, cmd: Command) => run((ctx) => runRemoteLogout(ctx), globals(cmd)));
  remote.command('status').description('the endpoint, and where its credentials come from').action(async (_f, cmd: Command) => run((ctx) => runRemoteStatus(ctx), globals(cmd)));

  const schedule = backup
    .command('schedule')
    .description('scheduled backups: saved in core.yaml, run unattended by a systemd timer or cron (docs/SCHEDULE.md)');
  schedule
    .command('create')
    .description('add a schedule (checked before it is saved, the password source included)')
    .option('--name <name>', 'its name (default: default)')
    .addOption(new Option('--frequency <f>', 'how often').choices(FREQUENCIES as unknown as string[]))
    .option('--time <HH:MM>', 'local time of day (default 02:00)')
    .addOption(new Option('--day <weekday>', 'weekly: the day (default sunday)').choices(WEEKDAYS as unknown as string[]))
    .option('--day-of-month <n>', 'monthly: the day, 1..28 (default 1)')
    .option('--cron <expression>', 'instead of --frequency: five cron fields, e.g. "0 2 * * *"')
    .addOption(new Option('--type <type>', 'what each run makes (default auto: incremental, else full)').choices(SCHEDULE_TYPES as unknown as string[]))
    .addOption(new Option('--full-every <period>', 'a full backup at least once per period (default weekly)').choices(FULL_EVERY as unknown as string[]))
    .option('-o, --output <dir>', 'backup directory (default: backup.output_dir)')
    .addOption(new Option('--compression <alg>', 'compression algorithm').choices(CODEC_NAMES))
    .option('--compression-level <n>', 'compression level 1..9')
    .option('--no-encrypt', 'unencrypted backups')
    .option('--include <list>', `only these sources (${SOURCE_LIST})`)
    .option('--exclude <list>', `leave out these sources (${SOURCE_LIST})`)
    .option('--password-file <file>', 'the backup password, in a file only you can read (chmod 600); else the stored password')
    .option('--no-cleanup', 'do not apply the retention policy after each backup')
    .option('--sync-to <place...>', 'after each backup, sync to these (directories or s3:// URLs)')
    .option('--disabled', 'save it switched off')
    .option('--replace', 'replace the schedule with this name')
    .action(async (flags, cmd: Command) => run((ctx) => runScheduleCreate(ctx, flags), globals(cmd)));
  schedule
    .command('list')
    .description('the schedules with their next run (local time and UTC), last attempt, last success, overdue')
    .option('-v, --verbose', 'also the cron expression, the next three runs, output and cleanup')
    .action(async (flags, cmd: Command) => run((ctx) => runScheduleList(ctx, undefined, flags.verbose === true), globals(cmd)));
  schedule
    .command('show')
    .description('one schedule in full')
    .argument('[name]')
    .action(async (name: string | undefined, _flags, cmd: Command) => run((ctx) => runScheduleList(ctx, name, true), globals(cmd)));
  for (const change of ['enable', 'disable', 'delete'] as const) {
    schedule
      .command(change)
      .description(`${change} a schedule (the only one, or --name / NAME); the installed timer is kept in step`)
      .argument('[name]')
      .option('--name <name>', 'the schedule')
      .action(async (name: string | undefined, flags, cmd: Command) => run((ctx) => runScheduleChange(ctx, name ?? flags.name, change), globals(cmd)));
  }
  schedule
    .command('run-due')
    .description('run every schedule that is due (missed runs once), then clean up; what the timer calls. Never prompts')
    .option('--now <name...>', 'also run these schedules now, due or not')
    .action(async (flags, cmd: Command) => run((ctx) => runScheduleRunDue(ctx, flags.now ?? []), globals(cmd)));
  schedule
    .command('install')
    .description('set up the timer that calls run-due: a systemd user timer, else a crontab entry')
    .option('--method <method>', 'systemd, cron or auto (default auto)')
    .option('--every <interval>', 'how often run-due starts: 1m..59m or 1h..24h (default 15m)')
    .action(async (flags, cmd: Command) => run((ctx) => runScheduleInstall(ctx, flags), globals(cmd)));
  schedule
    .command('uninstall')
    .description('remove exactly what install set up for this home')
    .action(async (_flags, cmd: Command) => run((ctx) => runScheduleUninstall(ctx), globals(cmd)));

  const migrate = backup.command('migrate').description("move AICO's plaintext stores onto a gocryptfs-encrypted filesystem, verified and reversible (docs/MIGRATE.md)");
  passwordOptions(
    migrate
      .command('encrypt')
      .description('encrypt the AICO home with gocryptfs: backup, init, copy, verify, swap; an interrupted run resumes')
      .requiredOption('--output <dir>', 'the encrypted (cipher) directory: new or empty, outside the home')
      .option('--no-create-backup', 'do not make a verified full backup first (the kept plaintext home is then the only way back)')
      .option('--backup-output <dir>', 'where that backup goes (default: backup.output_dir)')
      .option('--fs-password-file <file>', 'the password for the encrypted filesystem (else asked twice on a terminal)'),
  ).action(async (flags, cmd: Command) => run((ctx) => runMigrateEncrypt(ctx, flags), globals(cmd)));
  migrate.command('status').description('not migrated, in progress (which step), or migrated (mounted? plaintext copy still there?)').action(async (_f, cmd: Command) => run((ctx) => runMigrateStatus(ctx), globals(cmd)));
  migrate
    .command('mount')
    .description('mount the encrypted home where AICO expects it (after a reboot); password from the keyring or asked')
    .option('--fs-password-file <file>', 'the password, if the keyring does not have it')
    .action(async (flags, cmd: Command) => run((ctx) => runMigrateMount(ctx, flags), globals(cmd)));
  migrate.command('unmount').description('unmount the encrypted home (stop AICO first)').action(async (_f, cmd: Command) => run((ctx) => runMigrateUnmount(ctx), globals(cmd)));
  passwordOptions(
    migrate
      .command('rollback')
      .description('undo the migration: the kept plaintext home back in place, else restore --backup; the cipher directory is left alone')
      .option('--backup <file>', 'restore this backup when the plaintext copy is gone'),
  ).action(async (flags, cmd: Command) => run((ctx) => runMigrateRollback(ctx, flags), globals(cmd)));
  migrate.command('finalize').description('delete the plaintext copy kept aside (overwritten first; see what that can and cannot guarantee)').action(async (_f, cmd: Command) => run((ctx) => runMigrateFinalize(ctx), globals(cmd)));
  migrate
    .command('verify')
    .description('compare two trees file by file (SHA-256) and open their databases, e.g. the home and its encrypted view')
    .requiredOption('--source <dir>', 'the original')
    .requiredOption('--target <dir>', 'the copy')
    .action(async (flags, cmd: Command) => run((ctx) => runMigrateVerify(ctx, flags), globals(cmd)));

  const key = backup.command('key').description("export or import AICO's master key (a password-sealed recovery file)");
  passwordOptions(
    key
      .command('export')
      .description('write the master key, sealed with a password, to a new file')
      .argument('<file>')
      .option('--from <backup>', "take the key from this encrypted backup (sealed with the backup's password; no keyring needed)"),
  ).action(
    async (file: string, flags, cmd: Command) => run((ctx) => runKeyExport(ctx, file, flags), globals(cmd)),
  );
  passwordOptions(
    key
      .command('import')
      .description('store the master key from a key file, or from an encrypted backup, in the keyring')
      .argument('<file>')
      .option('--force', 'replace a different master key already in the keyring'),
  ).action(async (file: string, flags, cmd: Command) => run((ctx) => runKeyImport(ctx, file, flags), globals(cmd)));

  const pw = backup.command('password').description('the backup password kept in the keyring for unattended backups');
  passwordOptions(pw.command('set').description('store the backup password in the keyring (asked twice on a terminal)')).action(
    async (flags, cmd: Command) => run((ctx) => runPasswordSet(ctx, flags), globals(cmd)),
  );
  pw.command('clear').description('remove the stored backup password').action(async (_flags, cmd: Command) => run((ctx) => runPasswordClear(ctx), globals(cmd)));
  pw.command('status').description('say whether a backup password is stored').action(async (_flags, cmd: Command) => run((ctx) => runPasswordStatus(ctx), globals(cmd)));

  const demo = program.command('demo').description('sample data for trying aico-backup');
  demo
    .command('seed')
    .description('build a sample AICO home with real databases (libSQL, Chroma, LMDB or RocksDB) and config')
    .option('--size <mb>', 'approximate size in MiB', '32')
    .addOption(new Option('--working <kind>', 'working memory store').choices(WORKING_STORES).default('lmdb'))
    .option('--files', 'write a mixed tree of plain files instead (models/, cache/; for benchmarks)')
    .option('--seed <n>', 'random seed (same seed, same home)', '42')
    .option('--if-missing', 'do nothing if the home already holds data')
    .action(async (flags, cmd: Command) => run((ctx) => runSeed(ctx, flags), globals(cmd)));
  demo
    .command('churn')
    .description('change a sample home as a day of AICO use would (rows, memories, working memory), for incremental backups')
    .option('--percent <p>', 'also rewrite this percentage (0 < p <= 100) of the log rows, scattered over aico.db')
    .option('--seed <n>', 'random seed (same seed, same changes)', '1')
    .action(async (flags, cmd: Command) => run((ctx) => runChurn(ctx, flags), globals(cmd)));

  return program;
}
