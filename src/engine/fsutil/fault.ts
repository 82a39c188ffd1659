/**
 * Test hook for crash safety: with AICO_FAULT=<point> the process SIGKILLs
 * itself at that point, so tests can prove what a power cut there leaves
 * behind. Restore names 'staged' and 'validated' (and 'chain:K' after link K
 * of a chain is staged); a journaled swap (swap-journal.ts) names 'swap:N'
 * and 'commit'; the archive writer names 'delta-blocks' (after a file's
 * changed blocks are written); delete (and cleanup through it) 'delete:N'
 * after its Nth removal; an S3 upload 'upload:N' once N parts are journalled
 * (counting those sent while the archive was written, and at its start
 * those an earlier run sent) and 'upload:completed' once the object is made,
 * before the journal and the local copy go; the upload that
 * runs while an archive is written 'upload-early:N' after its Nth part.
 */
export function maybeCrash(point: string): void {
  if (process.env.AICO_FAULT === point) process.kill(process.pid, 'SIGKILL');
}

/**
 * Test hook: with AICO_FAULT_STOP=<point> the process stops itself (SIGSTOP)
 * there, so a test can change the world under it (stop the S3 server) and let
 * it go on (SIGCONT). Uploads name 'upload:N' once N parts are journalled.
 */
export function maybeStop(point: string): void {
  if (process.env.AICO_FAULT_STOP === point) process.kill(process.pid, 'SIGSTOP');
}
