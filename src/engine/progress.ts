import type { EngineEvent } from './events.js';
import { formatBytes, formatDuration } from './format.js';

type ProgressEvent = Extract<EngineEvent, { type: 'progress' }>;

/**
 * A progress event with the figures a person reads off it. The CLI's progress
 * line and the TUI's progress bar both come from here, so they show the same
 * rate (same unit) and the same ETA for the same event.
 */
export interface ProgressFigures {
  done: number;
  total: number | null;
  /** The source being read; an event without one keeps the previous one. */
  source?: string;
  /** Bytes per second since the operation's `start` event. */
  rate: number;
  /** What is left at that rate; null when the total is unknown or nothing was done yet. */
  etaSeconds: number | null;
}

export function progressFigures(e: ProgressEvent, elapsedMs: number, previousSource?: string): ProgressFigures {
  const rate = e.bytesDone / Math.max(0.001, elapsedMs / 1000);
  const etaSeconds = e.bytesTotal && rate > 0 ? Math.max(0, (e.bytesTotal - e.bytesDone) / rate) : null;
  const source = e.source ?? previousSource;
  return { done: e.bytesDone, total: e.bytesTotal, ...(source ? { source } : {}), rate, etaSeconds };
}

export function progressFraction(p: ProgressFigures): number {
  return p.total ? Math.min(1, p.done / p.total) : 0;
}

/** Rounded down, so it never says 100% before the last byte. Null when the total is unknown. */
export function progressPercent(p: ProgressFigures): string | null {
  return p.total ? `${Math.floor(progressFraction(p) * 100)}%` : null;
}

/** "5.0 MiB of 18.0 MiB · 12.3 MiB/s · ETA 0:01 · libsql": what both front ends print next to their bar. */
export function progressText(p: ProgressFigures): string {
  return [
    `${formatBytes(p.done)}${p.total ? ` of ${formatBytes(p.total)}` : ''}`,
    `${formatBytes(p.rate)}/s`,
    ...(p.etaSeconds !== null ? [`ETA ${formatDuration(p.etaSeconds * 1000)}`] : []),
    ...(p.source ? [p.source] : []),
  ].join(' · ');
}
