import { AicoError } from '../errors.js';

/** The local zone, as the platform reports it ($TZ, else the system's). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** An IANA zone name checked by the platform itself (Intl refuses one it does not know). */
export function checkTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new AicoError('USAGE', `"${zone}" is not a time zone.`, { hint: 'Give an IANA zone name such as Europe/Zurich, America/New_York or UTC.' });
  }
}
