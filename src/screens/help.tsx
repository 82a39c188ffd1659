import { Box, Text } from 'ink';
import React from 'react';
import { Footer } from '../ui/components/footer.js';
import { useBackKeys } from '../ui/use-back.js';

const TOPICS: Record<string, string[]> = {
  backups: [
    'The backups in your backup directory, newest first. Only headers are read, so no password is needed.',
    'enter/i  metadata of the selected backup     v  verify every byte of it',
    'r        restore from it                     d  delete it (asks first)',
    'c        create a new backup                 g  read the directory again',
    'x        clean up: apply the retention policy of core.yaml, after a preview and a y',
    's        the backup schedules: next and last runs, new, edit, on/off, run now',
    'm        encrypt the home with gocryptfs (migrate): status, the steps, mount/unmount',
    'o        the next place backups are kept (core.yaml: output_dir, stores, schedules), e.g. a bucket',
  ],
  migrate: [
    'Moves the AICO home onto a gocryptfs-encrypted filesystem: a verified backup first, then the encrypted copy,',
    'verified file by file and database by database, and only after your y the switch-over. Interrupted, it resumes.',
    'The master key is shown once at the end: write it down. m mounts or unmounts a migrated home. See docs/MIGRATE.md.',
  ],
  schedules: [
    'The backup schedules of this home (core.yaml), with the next run, the last success and the state:',
    'ok, off, OVERDUE (a run is more than an hour late) or FAILED (the last run failed; see the line below the list).',
    'n new   e/enter edit   space switch on/off   d delete (asks)   r run now (the backup and its cleanup)',
    'A timer starts them: aico backup schedule install (systemd or cron). See docs/SCHEDULE.md.',
  ],
  'schedule-edit': [
    'up/down move between fields; left/right change a choice; type into a text field, backspace erases.',
    'When: daily, weekly, monthly at a time, or a cron expression (minute hour day month weekday).',
    'The next three runs are shown as you type; a problem is shown instead. Enter saves, Esc cancels.',
    'An encrypted schedule needs a password it can read unattended: a password file (chmod 600) or the stored one.',
  ],
  cleanup: [
    'The retention policy of core.yaml (retention:), as aico backup cleanup applies it; see docs/RETENTION.md.',
    'First a preview: every backup, keep or REMOVE, and why it is kept (rule and period, or the',
    'kept backup that builds on it). The newest backup is verified before anything is removed.',
    'y removes what the preview shows; any other key keeps every backup.',
  ],
  create: [
    'Choose what goes into the backup. up/down move between fields; left/right change a value;',
    'space ticks a source or toggles encryption; enter starts; esc goes back.',
    'Type: full, incremental (only the blocks changed since the newest backup), differential',
    '(since the newest full one) or auto (incremental, else full). See docs/INCREMENTAL.md.',
    'While it runs, esc or ctrl-c cancels: no partial file is left behind.',
  ],
  restore: [
    'Tick the databases to restore (space), choose in place or another directory, and replace or merge.',
    'Nothing changes until you have seen the preview (a dry run) and confirmed with y.',
    'What is replaced is first saved as a pre-restore backup; see docs/RESTORE.md.',
  ],
  info: ['The metadata of one backup: when, what, how it is protected, and what each database holds.'],
  verify: ['Reads the whole backup: authenticates every encrypted segment and checks every file hash.'],
};

export function HelpScreen({ about }: { about: string }) {
  useBackKeys(true, about);
  return (
    <Box flexDirection="column">
      <Text bold>Help: {about}</Text>
      {(TOPICS[about] ?? []).map((line, i) => (
        <Text key={i}>{line}</Text>
      ))}
      <Text> </Text>
      <Text>Everywhere: ? help, q or esc back (quit on the backups screen). No mouse needed.</Text>
      <Text>The same operations are available headless: aico backup --help (add --json for scripts).</Text>
      <Footer hints={[['q', 'back']]} />
    </Box>
  );
}
