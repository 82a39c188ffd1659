/**
 * Test hook for crash safety: with AICO_FAULT=<point> the process SIGKILLs
 * itself at that point of a restore ('staged', 'validated', 'swap:N',
 * 'commit'), so tests can prove what a power cut there leaves behind.
 */
export function maybeCrash(point: string): void {
  if (process.env.AICO_FAULT === point) process.kill(process.pid, 'SIGKILL');
}
