import assert from 'node:assert/strict';
import { test } from 'node:test';
import { textOutput } from '../../src/cli/output.js';
import type { EngineEvent } from '../../src/engine/index.js';

test("text output: a nested operation's phases and warnings are indented under the restore's own", () => {
  let written = '';
  const out = textOutput({ isTTY: false, write: (s: string) => ((written += s), true) } as never);
  const events = [
    { type: 'start', op: 'restore' },
    { type: 'phase', phase: 'stage', message: 'Verifying the archive and staging its files' },
    { type: 'phase', phase: 'archive', message: 'Writing aico-backup-x-pre-restore.tar.zst.enc', op: 'create', parent: 'restore' },
    { type: 'warning', code: 'SOURCE_MISSING', message: 'No models data; skipped.', op: 'create', parent: 'restore' },
    { type: 'phase', phase: 'swap', message: 'Swapping the restored data into /home' },
  ] as unknown as EngineEvent[];
  for (const e of events) out.event(e);
  assert.equal(
    written,
    [
      'Verifying the archive and staging its files',
      '  Writing aico-backup-x-pre-restore.tar.zst.enc',
      '  warning: No models data; skipped.',
      'Swapping the restored data into /home',
      '',
    ].join('\n'),
  );
});
