import { z } from 'zod';
import { CODEC_NAMES } from '../codec/types.js';

import { FREQUENCIES, FULL_EVERY, SCHEDULE_TYPES, WEEKDAYS } from './constants.js';

const count = z.number().int().min(0);
export const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24h)');

/** Keep rules as core.yaml writes them: backup.retention, and a schedule's own. */
export const retentionSchema = z
  .object({
    keep_last: count.optional(),
    keep_hourly: count.optional(),
    keep_daily: count.optional(),
    keep_weekly: count.optional(),
    keep_monthly: count.optional(),
    keep_yearly: count.optional(),
    keep_within: z.string().regex(/^(?:\d+y)?(?:\d+m)?(?:\d+d)?(?:\d+h)?$/, 'must be a span like 30d, 1y6m or 2d12h').optional(),
    keep_safety: count.optional(),
  })
  .strict();

/**
 * One entry of `backup.schedules` in core.yaml: when (frequency, time, day,
 * or a cron expression), what (type, sources, compression, encryption, the
 * password file), where (output_dir) and what to clean up afterwards.
 * Left-out keys take the `backup:` section's values when the run starts.
 */
export const scheduleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be 1-40 lowercase letters, digits, - or _'),
    enabled: z.boolean().default(true),
    frequency: z.enum(FREQUENCIES).optional(),
    time: hhmm.optional(),
    day: z.enum(WEEKDAYS).optional(),
    day_of_month: z.number().int().min(1).max(28).optional(),
    cron: z.string().min(1).optional(),
    type: z.enum(SCHEDULE_TYPES).default('auto'),
    full_every: z.enum(FULL_EVERY).default('weekly'),
    output_dir: z.string().min(1).optional(),
    compression: z.enum(CODEC_NAMES as [string, ...string[]]).optional(),
    compression_level: z.number().int().min(1).max(9).optional(),
    encrypt: z.boolean().optional(),
    include: z.array(z.string()).optional(),
    exclude: z.array(z.string()).optional(),
    /** A file holding the backup password, readable by its owner only (0600); else the stored password. */
    password_file: z.string().min(1).optional(),
    /** Apply the retention policy after each successful backup. */
    cleanup: z.boolean().default(true),
    /** The policy for that cleanup; default backup.retention. */
    retention: retentionSchema.optional(),
    /**
     * Places (directories or s3:// URLs) each successful run copies its
     * backups to (aico backup sync), deleting there what the cleanup removed
     * here when the schedule cleans up.
     */
    sync_to: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.cron !== undefined && (s.frequency !== undefined || s.time !== undefined || s.day !== undefined || s.day_of_month !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give either cron or frequency/time/day, not both' });
    }
    if (s.cron === undefined && s.frequency === undefined) ctx.addIssue({ code: 'custom', path: ['frequency'], message: 'give a frequency (daily, weekly, monthly) or a cron expression' });
    if (s.frequency !== 'weekly' && s.day !== undefined) ctx.addIssue({ code: 'custom', path: ['day'], message: 'a day of the week is for weekly schedules' });
    if (s.frequency !== 'monthly' && s.day_of_month !== undefined) ctx.addIssue({ code: 'custom', path: ['day_of_month'], message: 'a day of the month is for monthly schedules' });
  });

export type Schedule = z.infer<typeof scheduleSchema>;
export type ScheduleInput = z.input<typeof scheduleSchema>;
