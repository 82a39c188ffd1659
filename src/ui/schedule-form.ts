import { FREQUENCIES, SCHEDULE_TYPES, WEEKDAYS, type Schedule, type ScheduleInput } from '../engine/index.js';

/** What the Schedule form edits; `when` is a frequency or "cron". */
export interface ScheduleDraft {
  name: string;
  when: (typeof FREQUENCIES)[number] | 'cron';
  time: string;
  day: (typeof WEEKDAYS)[number];
  dayOfMonth: number;
  cron: string;
  type: (typeof SCHEDULE_TYPES)[number];
  output: string;
  passwordFile: string;
  encrypt: boolean;
}

export const WHEN = [...FREQUENCIES, 'cron'] as const;

export function draftOf(s: Schedule | null, defaults: { output: string; encrypt: boolean }): ScheduleDraft {
  return {
    name: s?.name ?? 'default',
    when: s?.cron !== undefined ? 'cron' : (s?.frequency ?? 'daily'),
    time: s?.time ?? '02:00',
    day: s?.day ?? 'sunday',
    dayOfMonth: s?.day_of_month ?? 1,
    cron: s?.cron ?? '0 2 * * *',
    type: s?.type ?? 'auto',
    output: s?.output_dir ?? defaults.output,
    passwordFile: s?.password_file ?? '',
    encrypt: s?.encrypt ?? defaults.encrypt,
  };
}

/** The draft as `schedule create` would save it; an edited schedule keeps the keys the form does not show. */
export function inputOf(d: ScheduleDraft, base: Schedule | null): ScheduleInput {
  const { frequency: _f, time: _t, day: _d, day_of_month: _m, cron: _c, ...kept } = base ?? ({} as Partial<Schedule>);
  return {
    ...kept,
    name: d.name.trim(),
    ...(d.when === 'cron' ? { cron: d.cron.trim() } : { frequency: d.when, time: d.time.trim() }),
    ...(d.when === 'weekly' ? { day: d.day } : {}),
    ...(d.when === 'monthly' ? { day_of_month: d.dayOfMonth } : {}),
    type: d.type,
    output_dir: d.output.trim(),
    ...(d.passwordFile.trim() ? { password_file: d.passwordFile.trim() } : { password_file: undefined }),
    encrypt: d.encrypt,
  };
}

/** The fields the form shows for this draft, in order (the day fields only where they apply). */
export function fieldsOf(d: ScheduleDraft, editing: boolean): (keyof ScheduleDraft)[] {
  return [
    ...(editing ? [] : (['name'] as const)),
    'when',
    ...(d.when === 'cron' ? (['cron'] as const) : (['time'] as const)),
    ...(d.when === 'weekly' ? (['day'] as const) : []),
    ...(d.when === 'monthly' ? (['dayOfMonth'] as const) : []),
    'type',
    'encrypt',
    'passwordFile',
    'output',
  ];
}

export const TEXT_FIELDS = new Set<keyof ScheduleDraft>(['name', 'time', 'cron', 'passwordFile', 'output']);

const cycle = <T>(list: readonly T[], value: T, step: number) => list[(list.indexOf(value) + step + list.length) % list.length]!;

/** One key on a field: text typed or erased, a choice moved left or right, a box toggled. */
export function edit(d: ScheduleDraft, field: keyof ScheduleDraft, key: { input: string; left: boolean; right: boolean; backspace: boolean }): ScheduleDraft {
  if (TEXT_FIELDS.has(field)) {
    const value = d[field] as string;
    if (key.backspace) return { ...d, [field]: value.slice(0, -1) };
    const clean = key.input.replace(/[\x00-\x1f\x7f]/g, '');
    return clean ? { ...d, [field]: value + clean } : d;
  }
  const step = key.right || key.input === ' ' ? 1 : key.left ? -1 : 0;
  if (step === 0) return d;
  switch (field) {
    case 'when':
      return { ...d, when: cycle(WHEN, d.when, step) };
    case 'day':
      return { ...d, day: cycle(WEEKDAYS, d.day, step) };
    case 'dayOfMonth':
      return { ...d, dayOfMonth: ((d.dayOfMonth - 1 + step + 28) % 28) + 1 };
    case 'type':
      return { ...d, type: cycle(SCHEDULE_TYPES, d.type, step) };
    case 'encrypt':
      return { ...d, encrypt: !d.encrypt };
    default:
      return d;
  }
}
