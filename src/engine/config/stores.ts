import { resolveLocation } from '../store/location.js';
import type { BackupConfig } from './schema.js';

/**
 * Every place this configuration keeps backups: the backup directory first,
 * then backup.stores (a drive, a bucket), then the schedules' own output
 * directories and sync_to places; each once, as resolveLocation writes it.
 */
export function knownStores(config: BackupConfig, outputDir: string): string[] {
  const all = [outputDir, ...(config.stores ?? []), ...config.schedules.flatMap((s) => [...(s.output_dir ? [s.output_dir] : []), ...(s.sync_to ?? [])])];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const place of all) {
    let resolved: string;
    try {
      resolved = resolveLocation(place);
    } catch {
      continue;
    }
    if (!seen.has(resolved)) {
      seen.add(resolved);
      out.push(resolved);
    }
  }
  return out;
}
