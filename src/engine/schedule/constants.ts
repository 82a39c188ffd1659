// Kept apart from model.ts (zod) so the CLI can offer them without loading the schema at start-up.
export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export const FREQUENCIES = ['daily', 'weekly', 'monthly'] as const;
/** What a scheduled run makes; "incremental" falls back to a full backup when there is nothing to build on. */
export const SCHEDULE_TYPES = ['auto', 'full', 'incremental', 'differential'] as const;
/** How often a scheduled incremental or differential run makes a full backup instead, so chains stay short. */
export const FULL_EVERY = ['weekly', 'monthly', 'never'] as const;
