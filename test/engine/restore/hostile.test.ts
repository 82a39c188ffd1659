// A corpus of malicious and broken archives, each fed to restore(). Every one
// must be refused with a coded AicoError, and nothing may be written outside
// the target's staging directory: the whole sandbox (home, target, a directory
// "outside", the safety-backup directory) is compared before and after, every
// place a "../" or absolute name could land is checked, and no .aico-restore.*
// is left behind. Each archive is restored twice: into a separate non-empty
// --target with --force, and in place into the home.
//
// Restore writes nothing into a target it refused, not even its audit line:
// that goes to the home's data/logs/backup-audit.log when the target is
// another directory, else to the state directory (restore/audit.ts); it is
// checked to record the failure with the same code.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { headerSizeFromPrefix, parseHeader } from '../../../src/engine/crypto/header.js';
import { TAG_BYTES } from '../../../src/engine/crypto/segments.js';
import type { EngineEvent } from '../../../src/engine/events.js';
import { AicoError, isAicoError, type ErrorCode } from '../../../src/engine/errors.js';
import { create } from '../../../src/engine/ops/create.js';
import { restore, type RestoreOptions } from '../../../src/engine/ops/restore.js';
import { verify } from '../../../src/engine/ops/verify.js';
import { seedFiles } from '../../../src/engine/sample/seed.js';
import type { PasswordProvider } from '../../../src/engine/archive/reader.js';
import { tempDir, treeHashes } from '../../helpers.js';
import { craftArchive, type CraftOptions } from './craft.js';

const PASSWORD = 'hostile-test-password';
const password: PasswordProvider = async () => Buffer.from(PASSWORD);
const suite = tempDir('aico-hostile-');
const RUNTIME_YAML = 'runtime:\n  log_level: debug\n  language: de\n';
const AUDIT = 'data/logs/backup-audit.log';
const STATE = path.join(suite, 'state');
const STATE_AUDIT = path.join(STATE, 'aico-backup', 'backup-audit.log');

// ---------------------------------------------------------------------------
// Sandboxes
// ---------------------------------------------------------------------------

interface Sandbox {
  root: string;
  home: string;
  target: string;
  /** A directory next to home and target that links in an archive try to reach. */
  outside: string;
  safety: string;
  /** A name unique to this sandbox, for "../escaped"-style entries. */
  escape: string;
}

let sandboxes = 0;

async function sandbox(): Promise<Sandbox> {
  const root = path.join(suite, `sb-${++sandboxes}`);
  const sb: Sandbox = {
    root,
    home: path.join(root, 'home'),
    target: path.join(root, 'target'),
    outside: path.join(root, 'outside'),
    safety: path.join(root, 'safety'),
    escape: `aico-hostile-escaped-${randomBytes(6).toString('hex')}`,
  };
  for (const dir of [sb.home, sb.target]) {
    await fs.mkdir(path.join(dir, 'config'), { recursive: true });
    await fs.writeFile(path.join(dir, 'config', 'runtime.yaml'), RUNTIME_YAML, { mode: 0o600 });
  }
  await fs.mkdir(sb.outside);
  await fs.writeFile(path.join(sb.outside, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n', { mode: 0o644 });
  await fs.mkdir(sb.safety);
  return sb;
}

/** Every path under dir with its type, and for files the content hash, mode and link count. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string, rel: string) {
    for (const name of await fs.readdir(d)) {
      const p = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(p);
      if (st.isDirectory()) {
        out[r] = `dir ${(st.mode & 0o7777).toString(8)}`;
        await walk(p, r);
      } else if (st.isFile()) {
        const hash = createHash('sha256').update(await fs.readFile(p)).digest('hex');
        out[r] = `file ${hash} ${(st.mode & 0o7777).toString(8)} nlink=${st.nlink}`;
      } else if (st.isSymbolicLink()) {
        out[r] = `symlink -> ${await fs.readlink(p)}`;
      } else {
        out[r] = `special ${st.mode.toString(8)}`;
      }
    }
  }
  await walk(dir, '');
  return out;
}

/** Places outside the sandbox where a "../" or absolute entry named `escape` could land. */
function escapeCandidates(sb: Sandbox): string[] {
  const dirs = new Set<string>([tmpdir(), '/tmp', '/', '/etc', sb.outside]);
  for (let d = sb.target; ; d = path.dirname(d)) {
    dirs.add(d);
    if (d === path.dirname(d)) break;
  }
  return [...dirs].flatMap((d) => [path.join(d, sb.escape), path.join(d, `abs-${sb.escape}`)]);
}

const exists = (p: string) => fs.lstat(p).then(() => true, () => false);

// ---------------------------------------------------------------------------
// The refusal check
// ---------------------------------------------------------------------------

interface Expectation {
  /** The code, or the codes any one of which is right. */
  code: ErrorCode | ErrorCode[];
  /**
   * Whether restore got as far as staging (its "stage" phase) before refusing.
   * false: the refusal must come from the header or the manifest, before a
   * single byte is staged.
   */
  staged: boolean;
  /** Verify problems that must be among the error's details.problems. */
  problems?: { code: string; path?: string }[];
  /** null: restore without a password. */
  password?: PasswordProvider | null;
}

/** Files seen in the target's staging directory (path -> largest size), sampled at every engine event. */
type StagingSeen = Map<string, number>;

function sampleStaging(dest: string, seen: StagingSeen): void {
  let names: string[];
  try {
    names = readdirSync(dest).filter((n) => n.startsWith('.aico-restore.') && n.endsWith('.partial'));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      for (const e of readdirSync(path.join(dest, name), { recursive: true, withFileTypes: true })) {
        if (!e.isFile()) continue;
        const p = path.join(e.parentPath, e.name);
        const rel = path.relative(path.join(dest, name), p).split(path.sep).join('/');
        seen.set(rel, Math.max(seen.get(rel) ?? 0, statSync(p).size));
      }
    } catch {
      /* removed while we looked */
    }
  }
}

let archives = 0;

async function writeArchiveFile(bytes: Buffer, ext = '.tar'): Promise<string> {
  const dir = path.join(suite, 'archives');
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `aico-backup-20260101-000000-${++archives}${ext}`);
  await fs.writeFile(file, bytes);
  return file;
}

type Mode = 'target' | 'in-place';

async function expectRefused(sb: Sandbox, archive: string, expect: Expectation): Promise<StagingSeen[]> {
  const codes = Array.isArray(expect.code) ? expect.code : [expect.code];
  const observed: StagingSeen[] = [];
  const candidates = escapeCandidates(sb);
  for (const p of candidates) assert.equal(await exists(p), false, `precondition: ${p} must not exist`);

  for (const mode of ['target', 'in-place'] as Mode[]) {
    const dest = mode === 'target' ? sb.target : sb.home;
    const before = await snapshot(sb.root);
    const beforeHashes = await treeHashes(dest);
    const events: EngineEvent[] = [];
    const seen: StagingSeen = new Map();
    observed.push(seen);
    const opts: RestoreOptions = {
      path: archive,
      home: sb.home,
      env: { ...process.env, XDG_STATE_HOME: STATE },
      safetyBackupDir: sb.safety,
      ...(expect.password === null ? {} : { password: expect.password ?? password }),
      ...(mode === 'target' ? { target: sb.target, force: true } : {}),
    };
    let error: unknown = null;
    try {
      await restore(opts, {
        onEvent: (e) => {
          events.push(e);
          sampleStaging(dest, seen);
        },
      });
    } catch (e) {
      error = e;
    }
    const where = `[${mode}]`;
    assert.ok(error !== null, `${where} restore accepted the archive`);
    assert.ok(isAicoError(error), `${where} refused, but not with a coded AicoError: ${(error as Error)?.stack ?? String(error)}`);
    const err = error as AicoError;
    assert.ok(codes.includes(err.code), `${where} got ${err.code}, want ${codes.join(' or ')}: ${err.message}\n${err.hint ?? ''}`);
    for (const want of expect.problems ?? []) {
      const problems = (err.details?.problems ?? []) as { code: string; path?: string }[];
      assert.ok(
        problems.some((p) => p.code === want.code && (want.path === undefined || p.path === want.path)),
        `${where} expected problem ${JSON.stringify(want)} among ${JSON.stringify(problems)}`,
      );
    }
    const staged = events.some((e) => e.type === 'phase' && e.phase === 'stage');
    assert.equal(staged, expect.staged, `${where} ${expect.staged ? 'expected the refusal during staging' : 'staging started before the refusal'} (${err.code}: ${err.message})`);

    // (c) no staging, journal, old copies or lock left in the target.
    const leftovers = (await fs.readdir(dest)).filter((n) => n.startsWith('.aico-'));
    assert.deepEqual(leftovers, [], `${where} left in ${dest}`);

    // (a) the target is byte-identical.
    assert.deepEqual(await treeHashes(dest), beforeHashes, `${where} the target's files changed`);
    assert.equal(await fs.readFile(path.join(dest, 'config', 'runtime.yaml'), 'utf8'), RUNTIME_YAML);
    // The failure is recorded outside the target: the home's log for a --target, else the state directory.
    const auditFile = mode === 'target' ? path.join(sb.home, AUDIT) : STATE_AUDIT;
    const lines = (await fs.readFile(auditFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 1, `${where} one audit line in ${auditFile}`);
    assert.deepEqual([lines[0].result, lines[0].target], [`failed: ${err.code}`, dest], `${where} audit line`);

    // (b) nothing changed anywhere in the sandbox (home, target, outside, safety) but that audit line ...
    const after = await snapshot(sb.root);
    for (const rel of ['home/data', 'home/data/logs', `home/${AUDIT}`]) {
      if (!(rel in before)) delete after[rel];
    }
    assert.deepEqual(after, before, `${where} something outside the target's staging changed`);
    // ... and no escaped file appeared anywhere a "../" or absolute name could reach.
    for (const p of candidates) assert.equal(await exists(p), false, `${where} ${p} was written`);

    // Next mode starts from a clean audit log.
    await fs.rm(path.join(sb.home, 'data'), { recursive: true, force: true });
    await fs.rm(STATE_AUDIT, { force: true });
  }
  return observed;
}

/** Crafts a plain archive in a fresh sandbox (the spec may use its paths) and expects it refused. */
async function refuseCraftedObserved(spec: (sb: Sandbox) => CraftOptions, expect: Expectation): Promise<StagingSeen[]> {
  const sb = await sandbox();
  const archive = await writeArchiveFile(await craftArchive(spec(sb)));
  return expectRefused(sb, archive, expect);
}

async function refuseCrafted(spec: (sb: Sandbox) => CraftOptions, expect: Expectation): Promise<void> {
  await refuseCraftedObserved(spec, expect);
}

const text = (s: string) => Buffer.from(s);
const OK_YAML = { name: 'config/ok.yaml', data: text('ok: true\n') };
const before_stage = { staged: false } as const;

// ---------------------------------------------------------------------------
// Controls: the same machinery accepts an honest archive, so every refusal
// below is caused by the one thing its case changes.
// ---------------------------------------------------------------------------

describe('controls', () => {
  test('an honest crafted archive verifies and restores (the builder is faithful)', async () => {
    const sb = await sandbox();
    const archive = await writeArchiveFile(
      await craftArchive({ entries: [OK_YAML, { name: 'extras/cache/note.txt', data: randomBytes(10_000) }] }),
    );
    const v = await verify({ path: archive });
    assert.deepEqual([v.ok, v.problems], [true, []]);
    const fresh = path.join(sb.root, 'fresh');
    const r = await restore({ path: archive, home: sb.home, target: fresh, safetyBackupDir: sb.safety });
    assert.deepEqual(r.units.map((u) => [u.name, u.action, u.files]).sort(), [['cache', 'add', 1], ['config', 'add', 1]]);
    const got = await treeHashes(fresh);
    delete got[AUDIT];
    assert.deepEqual(Object.keys(got).sort(), ['cache/note.txt', 'config/ok.yaml']);
    assert.equal(await fs.readFile(path.join(fresh, 'config/ok.yaml'), 'utf8'), 'ok: true\n');
  });

  test('the refusal check itself fails when restore succeeds', async () => {
    const sb = await sandbox();
    const archive = await writeArchiveFile(await craftArchive({ entries: [OK_YAML] }));
    await assert.rejects(expectRefused(sb, archive, { code: 'CORRUPT_ARCHIVE', staged: false }), /restore accepted the archive/);
  });
});

// ---------------------------------------------------------------------------
// 1, 2. Path traversal and absolute paths
// ---------------------------------------------------------------------------

describe('1. path traversal', () => {
  const traversals: [string, (e: string) => string][] = [
    ['../E', (e) => `../${e}`],
    ['config/../../E', (e) => `config/../../${e}`],
    ['config/../../../E', (e) => `config/../../../${e}`],
    ['extras/cache/../../…/tmp/E', (e) => `extras/cache/${'../'.repeat(12)}tmp/${e}`],
  ];
  for (const [label, name] of traversals) {
    test(`manifest and tar entry "${label}": CORRUPT_ARCHIVE before staging`, () =>
      refuseCrafted((sb) => ({ entries: [OK_YAML, { name: name(sb.escape), data: text('pwned\n') }] }), { code: 'CORRUPT_ARCHIVE', ...before_stage }));
  }

  test('non-normalised or unsafe names ("./config/x", "config//x", "config/./x", backslashes, NUL, a 300-byte segment) are refused before staging', async () => {
    for (const name of ['./config/x.yaml', 'config//x.yaml', 'config/./x.yaml', 'config/x.yaml/', 'config\\..\\..\\x', 'config/a\u0000/../../x', `config/${'a'.repeat(300)}`]) {
      await refuseCrafted(() => ({ entries: [OK_YAML], declared: [{ path: name, data: text('x') }] }), { code: 'CORRUPT_ARCHIVE', ...before_stage });
    }
  });

  test('a "config/../../E" entry hidden from a clean manifest: CHECKSUM_MISMATCH (UNEXPECTED_ENTRY), staging removed', () =>
    refuseCrafted(
      (sb) => ({
        entries: [OK_YAML, { name: `config/../../${sb.escape}`, data: text('pwned\n') }],
        declared: [{ path: OK_YAML.name, data: OK_YAML.data }],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY' }] },
    ));

  test('a PAX "path=../E" record renaming a manifest entry: CHECKSUM_MISMATCH (UNEXPECTED_ENTRY, MISSING_ENTRY)', () =>
    refuseCrafted(
      (sb) => ({
        entries: [OK_YAML, { name: 'config/renamed.yaml', data: text('pwned\n'), pax: { path: `../${sb.escape}` } }],
        declared: [
          { path: OK_YAML.name, data: OK_YAML.data },
          { path: 'config/renamed.yaml', data: text('pwned\n') },
        ],
      }),
      {
        code: 'CHECKSUM_MISMATCH',
        staged: true,
        problems: [{ code: 'UNEXPECTED_ENTRY' }, { code: 'MISSING_ENTRY', path: 'config/renamed.yaml' }],
      },
    ));
});

describe('2. absolute paths', () => {
  test('manifest and tar entry "<sandbox>/abs-E": CORRUPT_ARCHIVE before staging', () =>
    refuseCrafted((sb) => ({ entries: [OK_YAML, { name: path.join(sb.root, `abs-${sb.escape}`), data: text('pwned\n') }] }), {
      code: 'CORRUPT_ARCHIVE',
      ...before_stage,
    }));

  test('manifest and tar entry "/tmp/E": CORRUPT_ARCHIVE before staging', () =>
    refuseCrafted((sb) => ({ entries: [OK_YAML, { name: `/tmp/${sb.escape}`, data: text('pwned\n') }] }), { code: 'CORRUPT_ARCHIVE', ...before_stage }));

  test('an absolute entry hidden from a clean manifest: CHECKSUM_MISMATCH (UNEXPECTED_ENTRY)', () =>
    refuseCrafted(
      (sb) => ({
        entries: [OK_YAML, { name: path.join(sb.root, `abs-${sb.escape}`), data: text('pwned\n') }],
        declared: [{ path: OK_YAML.name, data: OK_YAML.data }],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY' }] },
    ));
});

// ---------------------------------------------------------------------------
// 3, 4, 5. Links and special files
// ---------------------------------------------------------------------------

describe('3. symlink escape', () => {
  test('symlink config/link -> <outside>, then config/link/passwd: CHECKSUM_MISMATCH, outside untouched', () =>
    refuseCrafted(
      (sb) => ({
        entries: [
          OK_YAML,
          { name: 'config/link', type: 'symlink', linkname: sb.outside },
          { name: 'config/link/passwd', data: text('root::0:0::/:/bin/sh\n') },
        ],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY', path: 'config/link' }] },
    ));

  test('symlink config/etc -> /etc, then config/etc/<E>: CHECKSUM_MISMATCH, nothing in /etc', () =>
    refuseCrafted(
      (sb) => ({
        entries: [OK_YAML, { name: 'config/etc', type: 'symlink', linkname: '/etc' }, { name: `config/etc/${sb.escape}`, data: text('pwned\n') }],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY', path: 'config/etc' }] },
    ));

  test('relative symlink config/up -> ../.. with config/up/<E>: CHECKSUM_MISMATCH', () =>
    refuseCrafted(
      (sb) => ({
        entries: [OK_YAML, { name: 'config/up', type: 'symlink', linkname: '../..' }, { name: `config/up/${sb.escape}`, data: text('pwned\n') }],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY', path: 'config/up' }] },
    ));

  test('the manifest lists the symlink as a file too (config/link and config/link/passwd): CORRUPT_ARCHIVE before staging', () =>
    refuseCrafted(
      (sb) => ({
        entries: [OK_YAML, { name: 'config/link', type: 'symlink', linkname: sb.outside }, { name: 'config/link/passwd', data: text('pwned\n') }],
        declared: [
          { path: OK_YAML.name, data: OK_YAML.data },
          { path: 'config/link', data: Buffer.alloc(0) },
          { path: 'config/link/passwd', data: text('pwned\n') },
        ],
      }),
      { code: 'CORRUPT_ARCHIVE', ...before_stage },
    ));
});

describe('4. hard link pointing outside', () => {
  for (const [label, link] of [
    ['absolute', (sb: Sandbox) => path.join(sb.outside, 'passwd')],
    ['relative', () => '../../outside/passwd'],
  ] as const) {
    test(`hard link config/hl -> ${label} outside/passwd, then a file config/hl written "through" it: CHECKSUM_MISMATCH, outside/passwd untouched`, () =>
      refuseCrafted(
        (sb) => ({
          entries: [OK_YAML, { name: 'config/hl', type: 'link', linkname: link(sb) }, { name: 'config/hl', data: text('root::0:0::/:/bin/sh\n') }],
        }),
        { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY', path: 'config/hl' }] },
      ));
  }

  test('a hard link standing in for a manifest file: CHECKSUM_MISMATCH (UNEXPECTED_ENTRY, MISSING_ENTRY)', () =>
    refuseCrafted(
      (sb) => ({
        entries: [OK_YAML, { name: 'config/hl', type: 'link', linkname: path.join(sb.outside, 'passwd') }],
        declared: [
          { path: OK_YAML.name, data: OK_YAML.data },
          { path: 'config/hl', data: Buffer.alloc(0) },
        ],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY', path: 'config/hl' }, { code: 'MISSING_ENTRY', path: 'config/hl' }] },
    ));
});

describe('5. device files, fifos, directories', () => {
  const specials = [
    { name: 'config/null', type: 'character-device', devmajor: 1, devminor: 3 },
    { name: 'config/disk', type: 'block-device', devmajor: 8, devminor: 0 },
    { name: 'config/pipe', type: 'fifo' },
    { name: 'config/dir', type: 'directory' },
    { name: 'config/contig', type: 'contiguous-file' },
  ] as const;
  for (const special of specials) {
    test(`a ${special.type} entry ${special.name} in place of a manifest file: CHECKSUM_MISMATCH (UNEXPECTED_ENTRY)`, () =>
      refuseCrafted(
        () => ({
          entries: [OK_YAML, { ...special }],
          declared: [
            { path: OK_YAML.name, data: OK_YAML.data },
            { path: special.name, data: Buffer.alloc(0) },
          ],
        }),
        { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY' }, { code: 'MISSING_ENTRY', path: special.name }] },
      ));
  }
});

// ---------------------------------------------------------------------------
// 6, 7. Duplicates and names outside the layout
// ---------------------------------------------------------------------------

describe('6. duplicate entries', () => {
  const first = text('model: good\n');
  const second = text('model: evil, overwrites the first\n');

  test('the same name twice in the tar, the manifest matching the first: CHECKSUM_MISMATCH (DUPLICATE_ENTRY)', () =>
    refuseCrafted(
      () => ({
        entries: [OK_YAML, { name: 'config/models.yaml', data: first }, { name: 'config/models.yaml', data: second }],
        declared: [
          { path: OK_YAML.name, data: OK_YAML.data },
          { path: 'config/models.yaml', data: first },
        ],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'DUPLICATE_ENTRY', path: 'config/models.yaml' }] },
    ));

  test('the same name twice in the tar, the manifest matching the second: CHECKSUM_MISMATCH', () =>
    refuseCrafted(
      () => ({
        entries: [OK_YAML, { name: 'config/models.yaml', data: first }, { name: 'config/models.yaml', data: second }],
        declared: [
          { path: OK_YAML.name, data: OK_YAML.data },
          { path: 'config/models.yaml', data: second },
        ],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'DUPLICATE_ENTRY', path: 'config/models.yaml' }] },
    ));

  test('the manifest lists one path twice: CORRUPT_ARCHIVE before staging', () =>
    refuseCrafted(
      () => ({
        entries: [OK_YAML, { name: 'config/models.yaml', data: first }, { name: 'config/models.yaml', data: second }],
        declared: [
          { path: 'config/models.yaml', data: first },
          { path: 'config/models.yaml', data: second },
        ],
      }),
      { code: 'CORRUPT_ARCHIVE', ...before_stage },
    ));

  test('the manifest lists a path as a file and as a directory (config/a, config/a/b): CORRUPT_ARCHIVE before staging', () =>
    refuseCrafted(() => ({ entries: [{ name: 'config/a', data: first }, { name: 'config/a/b', data: second }] }), { code: 'CORRUPT_ARCHIVE', ...before_stage }));
});

describe('7. names outside the documented layout', () => {
  for (const name of ['evil/x', 'databases/other.db', 'databases/aico.db-shm', 'databases/semantic/', 'extras/other/x', 'data/aico.db', 'metadata.json', 'encryption_key.enc', '.aico-restore.journal']) {
    test(`manifest and tar entry "${name}": CORRUPT_ARCHIVE before staging`, () =>
      refuseCrafted(() => ({ entries: [OK_YAML], declared: [{ path: OK_YAML.name, data: OK_YAML.data }, { path: name, data: text('x\n'), source: 'config' }] }), {
        code: 'CORRUPT_ARCHIVE',
        ...before_stage,
      }));
  }

  test('"evil/x" hidden from a clean manifest: CHECKSUM_MISMATCH (UNEXPECTED_ENTRY)', () =>
    refuseCrafted(
      () => ({ entries: [OK_YAML, { name: 'evil/x', data: text('x\n') }], declared: [{ path: OK_YAML.name, data: OK_YAML.data }] }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'UNEXPECTED_ENTRY', path: 'evil/x' }] },
    ));
});

// ---------------------------------------------------------------------------
// 8. Bombs and impossible sizes
// ---------------------------------------------------------------------------

/** Rewrites the size field of the ustar header of `name` (and its checksum). */
function patchTarSize(archive: Buffer, name: string, size: number): Buffer {
  const copy = Buffer.from(archive);
  const needle = Buffer.from(`${name}\0`);
  for (let at = 0; at + 512 <= copy.length; at += 512) {
    if (!copy.subarray(at, at + needle.length).equals(needle)) continue;
    copy.write(`${size.toString(8).padStart(11, '0')}\0`, at + 124, 'latin1');
    copy.fill(' ', at + 148, at + 156);
    let sum = 0;
    for (let i = at; i < at + 512; i++) sum += copy[i]!;
    copy.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
    return copy;
  }
  throw new Error(`no tar header for ${name}`);
}

describe('8. bombs', () => {
  test('a tar entry of 8 MiB that the manifest declares as 16 bytes: CHECKSUM_MISMATCH (SIZE_MISMATCH), never staged', async () => {
    const big = Buffer.alloc(8 << 20, 0x41);
    const observed = await refuseCraftedObserved(
      () => ({
        entries: [OK_YAML, { name: 'extras/cache/bomb.bin', data: big }, { name: 'extras/cache/after.bin', data: text('after') }],
        declared: [
          { path: OK_YAML.name, data: OK_YAML.data },
          { path: 'extras/cache/bomb.bin', data: big, size: 16 },
          { path: 'extras/cache/after.bin', data: text('after') },
        ],
      }),
      { code: 'CHECKSUM_MISMATCH', staged: true, problems: [{ code: 'SIZE_MISMATCH', path: 'extras/cache/bomb.bin' }] },
    );
    for (const seen of observed) {
      // The staging directory was watched while the entry streamed past: the bomb never got a file there.
      assert.ok(seen.has('config/ok.yaml'), `staging was observed: ${JSON.stringify([...seen])}`);
      assert.equal(seen.has('cache/bomb.bin'), false, `the bomb was staged: ${JSON.stringify([...seen])}`);
    }
  });

  test('a manifest declaring 1 PiB (far beyond free space): NO_SPACE before anything is staged', () =>
    refuseCrafted(
      () => ({
        entries: [OK_YAML, { name: 'extras/models/huge.bin', data: text('tiny') }],
        declared: [
          { path: OK_YAML.name, data: OK_YAML.data },
          { path: 'extras/models/huge.bin', data: text('tiny'), size: 2 ** 50 },
        ],
      }),
      { code: 'NO_SPACE', ...before_stage },
    ));

  test('a tar header declaring more bytes than the stream holds (locator intact): CORRUPT_ARCHIVE (or TRUNCATED_ARCHIVE), not a raw tar-stream error', async () => {
    const sb = await sandbox();
    const honest = await craftArchive({ entries: [OK_YAML, { name: 'config/short.yaml', data: text('short: true\n') }] });
    const archive = await writeArchiveFile(patchTarSize(honest, 'config/short.yaml', 1 << 20));
    await expectRefused(sb, archive, { code: ['CORRUPT_ARCHIVE', 'TRUNCATED_ARCHIVE'], staged: true });
  });
});

describe('8b. malformed manifest entries are refused before their sizes are trusted', () => {
  // A negative size offsets a huge one in the free-space check; a string or a
  // missing size makes the sum NaN, which compares false with the free space.
  const cases: [string, (files: Record<string, unknown>[]) => void][] = [
    ['a negative size that cancels a huge one', (files) => {
      files.push({ ...files[0], path: 'extras/cache/huge.bin', size: 2 ** 50 });
      files.push({ ...files[0], path: 'extras/cache/minus.bin', size: -(2 ** 50) });
    }],
    ['a size that is not a number', (files) => void (files[0]!.size = 'lots')],
    ['a fractional size', (files) => void (files[0]!.size = 0.5)],
    ['a path that is not a string', (files) => void (files[0]!.path = 42)],
    ['a null file entry', (files) => void files.push(null as never)],
    ['a missing path', (files) => void delete files[0]!.path],
  ];
  for (const [label, edit] of cases) {
    test(`${label}: CORRUPT_ARCHIVE before staging`, () =>
      refuseCrafted(() => ({ entries: [OK_YAML], manifest: (m) => edit(m.files as unknown as Record<string, unknown>[]) }), {
        code: 'CORRUPT_ARCHIVE',
        ...before_stage,
      }));
  }

  for (const manifestJson of ['null\n', '[]\n', '"files"\n', '{"format":1,"files":{}}\n', 'not json\n']) {
    test(`manifest.json ${JSON.stringify(manifestJson.trim())} (no file list): CORRUPT_ARCHIVE before staging`, () =>
      refuseCrafted(() => ({ entries: [OK_YAML], manifestJson }), { code: 'CORRUPT_ARCHIVE', ...before_stage }));
  }
});

// ---------------------------------------------------------------------------
// 9, 10. Real archives made by create(): truncated, tampered, wrong password, newer format
// ---------------------------------------------------------------------------

describe('9, 10. damaged real archives', () => {
  let original: Buffer;
  let headerLen = 0;
  let segment = 0;
  let segments = 0;
  let plain: Buffer;

  before(async () => {
    const home = path.join(suite, 'seed-home');
    await seedFiles({ home, sizeMb: 4, seed: 11 });
    const made = await create({
      home, outputDir: path.join(suite, 'made'), encrypt: true, password, compression: 'zstd', compressionLevel: 3,
      include: ['models', 'cache', 'config'], exclude: [], kdfIterations: 1000,
    });
    original = await fs.readFile(made.backup.path);
    headerLen = headerSizeFromPrefix(original)!;
    segment = parseHeader(original.subarray(0, headerLen)).header.segment_size + TAG_BYTES;
    segments = Math.ceil((original.length - headerLen) / segment);
    assert.ok(segments >= 3, `need at least 3 segments, got ${segments}`);
    plain = await craftArchive({
      entries: [OK_YAML, { name: 'config/models.yaml', data: text('models:\n  conversation: hermes3:8b\n') }, { name: 'extras/cache/c.bin', data: randomBytes(20_000) }],
    });
  });

  test('control: the intact encrypted archive restores into a fresh directory', async () => {
    const sb = await sandbox();
    const archive = await writeArchiveFile(original, '.tar.zst.enc');
    const fresh = path.join(sb.root, 'fresh');
    await restore({ path: archive, home: sb.home, target: fresh, safetyBackupDir: null, password });
    const got = await treeHashes(fresh);
    delete got[AUDIT];
    const want = await treeHashes(path.join(suite, 'seed-home'));
    assert.deepEqual(got, want);
  });

  test('encrypted archive truncated at several offsets: TRUNCATED_ARCHIVE before staging', async () => {
    const sb = await sandbox();
    const offsets = [10, headerLen - 1, headerLen + 1, headerLen + segment + 7, Math.floor(original.length / 2), original.length - TAG_BYTES, original.length - 1];
    for (const at of offsets) {
      const archive = await writeArchiveFile(original.subarray(0, at), '.tar.zst.enc');
      await expectRefused(sb, archive, { code: 'TRUNCATED_ARCHIVE', ...before_stage });
    }
  });

  test('encrypted archive with one byte flipped in a middle segment: CORRUPT_ARCHIVE during staging, staging removed', async () => {
    const sb = await sandbox();
    const copy = Buffer.from(original);
    // The last segment but one: late enough that files are staged before it is read, and not the tail.
    copy[headerLen + (segments - 2) * segment + 1000]! ^= 0x01;
    // (Whether files reach staging before the damaged segment depends on the read-ahead, i.e. the CPU count.)
    await expectRefused(sb, await writeArchiveFile(copy, '.tar.zst.enc'), { code: 'CORRUPT_ARCHIVE', staged: true });
  });

  test('encrypted archive with one byte flipped in the last segment (the manifest): CORRUPT_ARCHIVE before staging', async () => {
    const sb = await sandbox();
    const copy = Buffer.from(original);
    copy[original.length - 100]! ^= 0x01;
    await expectRefused(sb, await writeArchiveFile(copy, '.tar.zst.enc'), { code: 'CORRUPT_ARCHIVE', ...before_stage });
  });

  test('encrypted archive with one byte flipped in the public header: CORRUPT_HEADER before staging', async () => {
    const sb = await sandbox();
    const copy = Buffer.from(original);
    copy[20]! ^= 0x01;
    await expectRefused(sb, await writeArchiveFile(copy, '.tar.zst.enc'), { code: 'CORRUPT_HEADER', ...before_stage });
  });

  test('plain archive truncated at several offsets: TRUNCATED_ARCHIVE before staging', async () => {
    const sb = await sandbox();
    for (const at of [600, 2048, Math.floor(plain.length / 2), plain.length - 41, plain.length - 1]) {
      await expectRefused(sb, await writeArchiveFile(plain.subarray(0, at)), { code: 'TRUNCATED_ARCHIVE', ...before_stage });
    }
  });

  test('plain archive with one content byte flipped: CHECKSUM_MISMATCH during staging', async () => {
    const sb = await sandbox();
    const copy = Buffer.from(plain);
    const at = copy.indexOf('conversation: hermes3');
    copy[at]! ^= 0x01;
    const observed = await expectRefused(sb, await writeArchiveFile(copy), {
      code: 'CHECKSUM_MISMATCH',
      staged: true,
      problems: [{ code: 'CHECKSUM_MISMATCH', path: 'config/models.yaml' }],
    });
    // Files really were staged before the damage was found, and all of them are gone (checked in expectRefused).
    for (const seen of observed) assert.ok(seen.has('config/ok.yaml'), `nothing was staged before the refusal: ${JSON.stringify([...seen])}`);
  });

  test('plain archive with one byte flipped in a tar header: CORRUPT_ARCHIVE, not a raw tar-stream error', async () => {
    const sb = await sandbox();
    const copy = Buffer.from(plain);
    const at = copy.indexOf('config/models.yaml\0');
    copy[at + 3]! ^= 0x01; // the name: the header checksum no longer matches
    await expectRefused(sb, await writeArchiveFile(copy), { code: 'CORRUPT_ARCHIVE', staged: true });
  });

  test('wrong password: WRONG_PASSWORD before staging', async () => {
    const sb = await sandbox();
    const archive = await writeArchiveFile(original, '.tar.zst.enc');
    await expectRefused(sb, archive, { code: 'WRONG_PASSWORD', ...before_stage, password: async () => Buffer.from('not the password') });
  });

  test('no password for an encrypted archive: PASSWORD_REQUIRED before staging', async () => {
    const sb = await sandbox();
    const archive = await writeArchiveFile(original, '.tar.zst.enc');
    await expectRefused(sb, archive, { code: 'PASSWORD_REQUIRED', ...before_stage, password: null });
  });

  test('encrypted archive of a newer container version (checksum recomputed): UNSUPPORTED_FORMAT before staging', async () => {
    const sb = await sandbox();
    for (const version of [3, 0xffff]) {
      const copy = Buffer.from(original);
      copy.writeUInt16BE(version, 8);
      createHash('sha256').update(copy.subarray(0, headerLen - 32)).digest().copy(copy, headerLen - 32);
      await expectRefused(sb, await writeArchiveFile(copy, '.tar.zst.enc'), { code: 'UNSUPPORTED_FORMAT', ...before_stage });
    }
  });

  test('plain archive whose metadata and manifest say format 3: UNSUPPORTED_FORMAT', () =>
    refuseCrafted(
      () => ({ entries: [OK_YAML], metadata: (m) => void (m.backup_version = 3), manifest: (m) => void (m.format = 3) }),
      { code: 'UNSUPPORTED_FORMAT', staged: true },
    ));
});
