import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { writeArchive } from '../../../src/engine/archive/writer.js';
import { getCodec } from '../../../src/engine/codec/index.js';
import { info, isAicoError, list, verify, type CodecName, type EngineEvent, type Metadata } from '../../../src/engine/index.js';
import { tempDir } from '../../helpers.js';

const dir = tempDir();
const out = path.join(dir, 'out');
const password = () => Promise.resolve(Buffer.from('list-info-pw'));
const names = {
  plain: 'aico-backup-20260102-120000.tar.gz',
  encrypted: 'aico-backup-20260102-120001.tar.zst.enc',
  newer: 'aico-backup-20260102-120002.tar',
  zero: 'aico-backup-20260102-120003.tar',
};

async function archive(name: string, codec: CodecName, encrypted: boolean, backupVersion = 1): Promise<void> {
  const created = new Date(`2026-01-02T12:00:0${name.at(26)}.000Z`);
  const metadata = {
    backup_version: backupVersion, tool: { name: 'aico-backup', version: '0.0.0-test' }, id: `id-${name}`,
    created: created.toISOString(), backup_type: 'full', parent_id: null,
    encryption: encrypted ? { enabled: true, cipher: 'aes-256-gcm-stream', kdf: 'pbkdf2-hmac-sha256', iterations: 1000, segment_size: 1 << 20 } : { enabled: false },
    compression: { algorithm: codec, level: null, codec_level: null, chunk_size: 1 << 20 },
    databases: { config: { kind: 'config', archive_path: 'config/', size_bytes: 6, files: 1, encrypted: false, consistent: true, method: 'file-copy' } },
  } as unknown as Metadata;
  await writeArchive({
    path: path.join(out, name), codec: getCodec(codec), codecLevel: null, metadata,
    encryption: encrypted ? { password: await password(), iterations: 1000 } : null,
    files: [{ source: 'config', absPath: path.join(dir, 'core.yaml'), archivePath: 'config/core.yaml', size: 6, mode: 0o600, mtime: created }],
  });
}

/** Runs an operation and returns its result (or error) and the events it emitted. */
async function withEvents<T>(run: (onEvent: (e: EngineEvent) => void) => Promise<T>): Promise<{ result: T | null; error: unknown; events: EngineEvent[] }> {
  const events: EngineEvent[] = [];
  try {
    return { result: await run((e) => events.push(e)), error: null, events };
  } catch (error) {
    return { result: null, error, events };
  }
}

before(async () => {
  await fs.mkdir(out);
  await fs.writeFile(path.join(dir, 'core.yaml'), 'a: 1\n');
  await archive(names.plain, 'gzip', false);
  await archive(names.encrypted, 'zstd', true);
});

describe('list and info end with a summary event, like create and verify', () => {
  test('list', async () => {
    const { result, events } = await withEvents((onEvent) => list({ dir: out }, { onEvent }));
    assert.equal(result!.backups.length, 2);
    assert.deepEqual(events.map((e) => e.type), ['start', 'summary']);
    const summary = events.at(-1) as Extract<EngineEvent, { type: 'summary' }>;
    assert.deepEqual([summary.op, summary.ok, typeof summary.durationMs], ['list', true, 'number']);
  });

  test('list of a missing directory', async () => {
    const { result, events } = await withEvents((onEvent) => list({ dir: path.join(dir, 'nope') }, { onEvent }));
    assert.deepEqual(result!.backups, []);
    assert.deepEqual(events.map((e) => [e.type, 'op' in e ? e.op : null]), [['start', 'list'], ['summary', 'list']]);
  });

  test('info', async () => {
    const file = path.join(out, names.encrypted);
    const { result, events } = await withEvents((onEvent) => info({ path: file, password }, { onEvent }));
    assert.deepEqual(events.map((e) => e.type), ['start', 'summary']);
    assert.deepEqual(events.at(-1), { type: 'summary', op: 'info', ok: true, durationMs: (events.at(-1) as { durationMs: number }).durationMs, bytes: (await fs.stat(file)).size });
    assert.equal(result!.bytes, (await fs.stat(file)).size);
  });

  test('a failed info emits no summary', async () => {
    const { error, events } = await withEvents((onEvent) => info({ path: path.join(out, names.encrypted) }, { onEvent }));
    assert.ok(isAicoError(error, 'PASSWORD_REQUIRED'));
    assert.ok(!events.some((e) => e.type === 'summary'));
  });
});

describe('list tells a cut-off or appended-to encrypted archive from its header, without the password', () => {
  test('a copy cut short is TRUNCATED_ARCHIVE, one with bytes appended TRAILING_DATA; id and time are still shown', async () => {
    const damaged = path.join(dir, 'damaged');
    await fs.mkdir(damaged);
    const whole = await fs.readFile(path.join(out, names.encrypted));
    await fs.writeFile(path.join(damaged, 'aico-backup-20260102-120010.tar.zst.enc'), whole.subarray(0, whole.length - 100));
    await fs.writeFile(path.join(damaged, 'aico-backup-20260102-120011.tar.zst.enc'), Buffer.concat([whole, Buffer.from('junk')]));
    const { backups } = await list({ dir: damaged });
    assert.deepEqual(
      backups.map((b) => [b.name, b.problem?.code, b.problem?.message, b.id, b.created]),
      [
        ['aico-backup-20260102-120011.tar.zst.enc', 'TRAILING_DATA', 'The archive has 4 unexpected bytes after its end.', `id-${names.encrypted}`, '2026-01-02T12:00:01.000Z'],
        ['aico-backup-20260102-120010.tar.zst.enc', 'TRUNCATED_ARCHIVE', 'The archive is truncated (100 bytes are missing).', `id-${names.encrypted}`, '2026-01-02T12:00:01.000Z'],
      ],
    );
  });
});

describe('list and info report versions the same way for every archive', () => {
  test('format_version is the archive format version; container_version is set only for encrypted archives', async () => {
    const { backups } = await list({ dir: out });
    const byName = Object.fromEntries(backups.map((b) => [b.name, b]));
    for (const [name, encrypted, compression] of [[names.plain, false, 'gzip'], [names.encrypted, true, 'zstd']] as const) {
      const entry = byName[name]!;
      const i = await info({ path: path.join(out, name), password });
      assert.equal(entry.problem, null, name);
      assert.deepEqual(
        [entry.format_version, entry.container_version, entry.encrypted, entry.compression],
        [1, encrypted ? 1 : null, encrypted, compression],
        name,
      );
      assert.deepEqual([i.format_version, i.container_version, i.encrypted, i.compression], [entry.format_version, entry.container_version, entry.encrypted, entry.compression], name);
      assert.equal(i.format_version, i.metadata.backup_version);
    }
  });

  test('a plain archive of a newer format is listed with UNSUPPORTED_FORMAT, and info and verify refuse it', async () => {
    const newer = path.join(dir, 'newer');
    await fs.mkdir(newer);
    await archive(names.newer, 'none', false, 3);
    await fs.rename(path.join(out, names.newer), path.join(newer, names.newer));
    const [entry] = (await list({ dir: newer })).backups;
    assert.deepEqual([entry!.problem?.code, entry!.format_version, entry!.id], ['UNSUPPORTED_FORMAT', 3, `id-${names.newer}`]);
    const file = path.join(newer, names.newer);
    await assert.rejects(info({ path: file }), (e) => isAicoError(e, 'UNSUPPORTED_FORMAT') && e.exitCode === 8);
    await assert.rejects(verify({ path: file }), (e) => isAicoError(e, 'UNSUPPORTED_FORMAT'));
  });

  test('format version 0 in metadata.json is damage, not an old format', async () => {
    const zero = path.join(dir, 'zero');
    await fs.mkdir(zero);
    await archive(names.zero, 'none', false, 0);
    await fs.rename(path.join(out, names.zero), path.join(zero, names.zero));
    const [entry] = (await list({ dir: zero })).backups;
    assert.deepEqual([entry!.problem?.code, entry!.format_version], ['CORRUPT_ARCHIVE', null]);
    const file = path.join(zero, names.zero);
    await assert.rejects(info({ path: file }), (e) => isAicoError(e, 'CORRUPT_ARCHIVE'));
    await assert.rejects(verify({ path: file }), (e) => isAicoError(e, 'CORRUPT_ARCHIVE'));
  });
});
