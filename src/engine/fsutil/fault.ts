/**
 * Test hook for crash safety: with AICO_FAULT=<point> the process SIGKILLs
 * itself at that point, so tests can prove what a power cut there leaves
 * behind. Restore names 'staged' and 'validated' (and 'chain:K' after link K
 * of a chain is staged); a journaled swap (swap-journal.ts) names 'swap:N'
 * and 'commit'; the archive writer names 'delta-blocks' (after a file's
 * changed blocks are written); delete (and cleanup through it) 'delete:N'
 * after its Nth removal.
 */
export function maybeCrash(point: string): void {
  if (process.env.AICO_FAULT === point) process.kill(process.pid, 'SIGKILL');
}
