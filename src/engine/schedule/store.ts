import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AicoError } from '../errors.js';
import { ensurePrivateDir, replaceFile } from '../fsutil/atomic-file.js';
import { checkUserConfig, loadConfig } from '../config/load.js';
import type { BackupConfig } from '../config/schema.js';
import type { Schedule, ScheduleInput } from './model.js';

/** A schedule as configured, and where: `backup.schedules` or the seed's single `backup.schedule` block. */
export interface ConfiguredSchedule {
  schedule: Schedule;
  /** "schedules" for an entry of backup.schedules; "schedule" for the single block (its name is "default"). */
  from: 'schedules' | 'schedule';
}

export const userConfigFile = (home: string) => path.join(home, 'config', 'core.yaml');

/**
 * Every schedule of the home: the entries of `backup.schedules`, and the
 * seed's `backup.schedule` block as the schedule "default" when it is enabled
 * and no entry has that name.
 */
export function schedulesOf(config: BackupConfig): ConfiguredSchedule[] {
  const list: ConfiguredSchedule[] = (config.schedules ?? []).map((s) => ({ schedule: s, from: 'schedules' as const }));
  const single = config.schedule;
  if (single.enabled && !list.some((c) => c.schedule.name === 'default')) {
    // The schema's defaults for everything the single block does not say.
    const schedule: Schedule = { name: 'default', enabled: true, frequency: single.frequency, time: single.time, ...(single.frequency === 'weekly' ? { day: single.day } : {}), type: 'auto', full_every: 'weekly', cleanup: true };
    list.push({ schedule, from: 'schedule' });
  }
  return list;
}

/** The schedule a command names, or the only one; with several and no name, says which there are. */
export function pickSchedule(all: ConfiguredSchedule[], name: string | undefined): ConfiguredSchedule {
  if (name !== undefined) {
    const found = all.find((c) => c.schedule.name === name);
    if (!found) throw new AicoError('NOT_FOUND', `No schedule named "${name}".`, { hint: all.length ? `Schedules: ${all.map((c) => c.schedule.name).join(', ')}.` : 'Create one with aico backup schedule create.' });
    return found;
  }
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new AicoError('NOT_FOUND', 'There is no backup schedule.', { hint: 'Create one: aico backup schedule create --frequency daily --time 02:00.' });
  throw new AicoError('USAGE', `There are ${all.length} schedules: ${all.map((c) => c.schedule.name).join(', ')}; say which (--name).`);
}

/**
 * Changes the home's config/core.yaml with `edit` on its parsed document
 * (comments and everything else in it stay), checks the result against the
 * schema as loadConfig would, and replaces the file atomically.
 */
async function editUserConfig(home: string, edit: (doc: import('yaml').Document) => void): Promise<void> {
  const YAML = await import('yaml');
  const file = userConfigFile(home);
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw new AicoError('CONFIG_INVALID', `Cannot read ${file}: ${error.message}`);
  });
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw new AicoError('CONFIG_INVALID', `${file} is not valid YAML: ${doc.errors[0]!.message}`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  edit(doc);
  // New strings quoted: "02:00" unquoted is the number 120 to a YAML 1.1 reader such as PyYAML, which AICO's own tools may be.
  const out = doc.toString({ defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
  // Checked before it is written: an edit that would make the configuration invalid is refused.
  await checkUserConfig(out, file);
  await ensurePrivateDir(path.dirname(file));
  await replaceFile(file, out, 0o644);
}

function schedulesNode(doc: import('yaml').Document): Record<string, unknown>[] {
  const current = doc.getIn(['backup', 'schedules']) as { toJSON(): unknown } | undefined;
  return ((current?.toJSON() as Record<string, unknown>[] | undefined) ?? []).map((s) => ({ ...s }));
}

/** Adds a schedule, or replaces the one with its name when `replace`. */
export async function saveSchedule(home: string, input: ScheduleInput, opts: { replace?: boolean } = {}): Promise<Schedule> {
  const { scheduleSchema } = await import('./model.js');
  const schedule = scheduleSchema.parse(input);
  const config = await loadConfig(home);
  if (!opts.replace && schedulesOf(config.backup).some((c) => c.schedule.name === schedule.name)) {
    throw new AicoError('USAGE', `A schedule named "${schedule.name}" exists already.`, { hint: 'Give another --name, or delete that one first (aico backup schedule delete --name NAME).' });
  }
  await editUserConfig(home, (doc) => {
    const list = schedulesNode(doc).filter((s) => s.name !== schedule.name);
    list.push(stripDefaults(input));
    doc.setIn(['backup', 'schedules'], doc.createNode(list));
  });
  return schedule;
}

/** Only what was given, so the file says what the user chose and the rest follows the defaults. */
function stripDefaults(input: ScheduleInput): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

export async function setScheduleEnabled(home: string, target: ConfiguredSchedule, enabled: boolean): Promise<void> {
  await editUserConfig(home, (doc) => {
    if (target.from === 'schedule') return void doc.setIn(['backup', 'schedule', 'enabled'], enabled);
    const list = schedulesNode(doc).map((s) => (s.name === target.schedule.name ? { ...s, enabled } : s));
    doc.setIn(['backup', 'schedules'], doc.createNode(list));
  });
}

/** Removes a schedule; the seed's single block is switched off instead (it is the defaults' key). */
export async function removeSchedule(home: string, target: ConfiguredSchedule): Promise<void> {
  await editUserConfig(home, (doc) => {
    if (target.from === 'schedule') return void doc.setIn(['backup', 'schedule', 'enabled'], false);
    doc.setIn(['backup', 'schedules'], doc.createNode(schedulesNode(doc).filter((s) => s.name !== target.schedule.name)));
  });
}
