import { Box, Text, useInput } from 'ink';
import React, { useEffect, useRef, useState } from 'react';
import { checkCron, cronOf, localTimeZone, nextRuns, type Schedule } from '../engine/index.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { useApp } from '../ui/context.js';
import { errorView, type ErrorView } from '../ui/operation-state.js';
import { draftOf, edit, fieldsOf, inputOf, TEXT_FIELDS, type ScheduleDraft } from '../ui/schedule-form.js';
import { shortWhen } from './schedules.js';

const LABEL: Record<keyof ScheduleDraft, string> = {
  name: 'Name',
  when: 'When',
  time: 'Time (HH:MM)',
  day: 'Day',
  dayOfMonth: 'Day of month',
  cron: 'Cron',
  type: 'Type',
  encrypt: 'Encryption',
  passwordFile: 'Password file',
  output: 'Backup directory',
};

/** The next three runs for a draft, or what is wrong with it, checked as it is typed. */
async function preview(d: ScheduleDraft): Promise<{ next: string[] } | { problem: string }> {
  if (d.when !== 'cron' && !/^([01]\d|2[0-3]):[0-5]\d$/.test(d.time.trim())) return { problem: 'Time: HH:MM, 24-hour (e.g. 02:00)' };
  const expression = cronOf(d.when === 'cron' ? { cron: d.cron } : { frequency: d.when, time: d.time.trim(), day: d.day, day_of_month: d.dayOfMonth });
  try {
    await checkCron(expression, localTimeZone());
    return { next: (await nextRuns(expression, localTimeZone(), new Date(), 3)).map((x) => x.toISOString()) };
  } catch (e) {
    return { problem: `Cron: ${(e as Error).message}` };
  }
}

/** Create or edit a schedule: every key re-checks it and shows the next three runs, Enter saves. */
export function ScheduleEditScreen({ name }: { name?: string }) {
  const { engine, settings, nav, theme } = useApp();
  const [base, setBase] = useState<Schedule | null | undefined>(name ? undefined : null);
  const [draft, setDraftState] = useState<ScheduleDraft>(() => draftOf(null, { output: settings.outputDir, encrypt: settings.config.encrypt }));
  const draftRef = useRef(draft);
  const setDraft = (d: ScheduleDraft) => {
    draftRef.current = d;
    setDraftState(d);
  };
  const [field, setFieldState] = useState(0);
  const fieldRef = useRef(0);
  const setField = (i: number) => {
    fieldRef.current = i;
    setFieldState(i);
  };
  const [checked, setCheck] = useState<{ of: string; result: { next: string[] } | { problem: string } } | null>(null);
  const [error, setError] = useState<ErrorView | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (!name) return;
    void engine.scheduleStatus(settings.home).then(
      (all) => {
        const found = all.find((s) => s.schedule.name === name)?.schedule ?? null;
        setBase(found);
        if (found) setDraft(draftOf(found, { output: settings.outputDir, encrypt: settings.config.encrypt }));
      },
      (e) => setError(errorView(e)),
    );
  }, [name]);
  // A check is shown only for the draft it was made of: one that arrives for an earlier draft (or is still on its way) must not say a later one is wrong.
  const timing = JSON.stringify([draft.when, draft.time, draft.day, draft.dayOfMonth, draft.cron]);
  useEffect(() => {
    let live = true;
    void preview(draft).then((result) => live && setCheck({ of: timing, result }));
    return () => {
      live = false;
    };
  }, [timing]);
  const check = checked?.of === timing ? checked.result : null;

  const editing = Boolean(name);
  const fields = fieldsOf(draft, editing);
  const save = () => {
    setSaving(true);
    setError(null);
    void engine.createSchedule(settings.home, inputOf(draftRef.current, base ?? null), { replace: editing }).then(
      () => nav.pop(),
      (e) => {
        setError(errorView(e));
        setSaving(false);
      },
    );
  };
  useInput(
    (input, key) => {
      const list = fieldsOf(draftRef.current, editing);
      const f = list[Math.min(fieldRef.current, list.length - 1)]!;
      if (key.ctrl && input === 'c') return nav.quit();
      if (key.escape) return nav.pop();
      if (key.upArrow) return setField((fieldRef.current + list.length - 1) % list.length);
      if (key.downArrow || key.tab) return setField((fieldRef.current + 1) % list.length);
      if (key.return) return save();
      // Text arrives several keys per chunk when typed fast or pasted: the whole chunk goes to the field.
      if (!TEXT_FIELDS.has(f) && input === '?') return nav.push({ name: 'help', about: 'schedule-edit' });
      setDraft(edit(draftRef.current, f, { input: key.leftArrow || key.rightArrow ? '' : input, left: key.leftArrow, right: key.rightArrow, backspace: key.backspace || key.delete }));
    },
    { isActive: !saving && base !== undefined },
  );

  const value = (f: keyof ScheduleDraft) => {
    const v = draft[f];
    if (f === 'encrypt') return v ? '[x] AES-256-GCM' : '[ ] not encrypted';
    const cursor = fields[field] === f ? '_' : '';
    if (f === 'passwordFile' && !v) return cursor ? `${cursor} (empty: the stored password, aico backup password set)` : '(the stored password: aico backup password set)';
    if (TEXT_FIELDS.has(f)) return `${v as string}${cursor}`;
    return `< ${String(v)} >`;
  };
  return (
    <Box flexDirection="column">
      <Text bold>{editing ? `Edit the schedule "${name}"` : 'New backup schedule'}</Text>
      {fields.map((f, i) => (
        <Text key={f} color={i === field ? theme.accent : undefined} wrap="truncate-end">
          {i === field ? '>' : ' '} {LABEL[f].padEnd(17)} {value(f)}
        </Text>
      ))}
      <Box marginTop={1}>
        {check && 'next' in check ? (
          <Text wrap="truncate-end">Next runs: {check.next.map(shortWhen).join(', ')}</Text>
        ) : check ? (
          <Text color={theme.error} wrap="truncate-end">
            ! {check.problem}
          </Text>
        ) : (
          <Text> </Text>
        )}
      </Box>
      {error ? <ErrorBox error={error} /> : null}
      {saving ? <Text>Saving…</Text> : null}
      <Footer hints={[['↑↓', 'field'], ['←→', 'choose'], ['type', 'text'], ['enter', 'save'], ['esc', 'cancel']]} />
    </Box>
  );
}
