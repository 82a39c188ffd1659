import { z } from 'zod';
import { CODEC_NAMES } from '../codec/types.js';
import { SOURCE_NAMES } from '../sources/catalog.js';
import { FREQUENCIES, WEEKDAYS } from '../schedule/constants.js';
import { hhmm, retentionSchema, scheduleSchema } from '../schedule/model.js';

const sourceName = z.string().refine((n) => SOURCE_NAMES.includes(n.trim().toLowerCase()), {
  message: `must be one of ${SOURCE_NAMES.join(', ')}`,
});

/** The `backup:` section of core.yaml. Unknown keys are errors, not silently ignored. */
export const backupConfigSchema = z
  .object({
    encrypt: z.boolean(),
    compression: z.enum(CODEC_NAMES as [string, ...string[]]),
    compression_level: z.number().int().min(1).max(9),
    output_dir: z.string().min(1),
    include: z.array(sourceName),
    exclude: z.array(sourceName),
    /** Longest incremental chain (links down to the full backup) create makes. */
    max_chain: z.number().int().min(1).max(10_000).default(14),
    /** The keep rules cleanup applies when given none (docs/RETENTION.md); keep_within is a span such as "30d". */
    retention: retentionSchema,
    schedule: z
      .object({
        enabled: z.boolean(),
        frequency: z.enum(FREQUENCIES),
        time: hhmm,
        day: z.enum(WEEKDAYS),
      })
      .strict(),
    /** Other places backups are kept (an external drive, a bucket): the TUI switches between them and output_dir with o. */
    stores: z.array(z.string().min(1)).default([]),
    /** Where the S3 API is for s3:// backup locations (docs/REMOTE.md); the AWS_* environment variables override it. */
    s3: z
      .object({
        endpoint: z.string().url().optional(),
        region: z.string().min(1).optional(),
        path_style: z.boolean().optional(),
        max_attempts: z.number().int().min(1).max(20).optional(),
        profile: z.string().min(1).optional(),
        part_size_mib: z.number().int().min(5).max(5120).optional(),
      })
      .strict()
      .optional(),
    /** Scheduled backups (docs/SCHEDULE.md), written by `aico backup schedule create`. */
    schedules: z.array(scheduleSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = c.schedules.map((s) => s.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: ['schedules', i, 'name'], message: `"${n}" is the name of another schedule too` });
    });
  });

export type BackupConfig = z.infer<typeof backupConfigSchema>;
