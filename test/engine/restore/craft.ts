// Builds unencrypted, uncompressed ("none") archives byte by byte, exactly as
// docs/FORMAT.md describes them, so the hostile-restore tests can put anything
// in them: metadata.json first, then the body entries, then the tail
// (manifest.json, manifest.blocks, the two zero blocks) and the 40-byte locator.
// With every option at its default the result is a valid archive (see the
// control test in hostile.test.ts), so a refusal is due to the one thing a case changes.
import { createHash, randomUUID } from 'node:crypto';
import tar from 'tar-stream';
import { CHUNK_SIZE, DEFAULT_BLOCK_SIZE, TAR_EOF_BYTES } from '../../../src/engine/archive/layout.js';
import { encodeLocator } from '../../../src/engine/archive/locator.js';
import type { Manifest, ManifestFile, Metadata } from '../../../src/engine/archive/metadata.js';
import { TOOL_VERSION } from '../../../src/engine/version.js';

export interface CraftEntry {
  name: string;
  /** tar type; default 'file'. */
  type?: tar.Header['type'];
  data?: Buffer;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX records written before the entry (e.g. { path: '../x' } overrides the ustar name). */
  pax?: Record<string, string>;
}

export interface DeclaredFile {
  path: string;
  data: Buffer;
  /** What the manifest says; default data.length. */
  size?: number;
  source?: string;
}

export interface CraftOptions {
  /** Entries after metadata.json, in order. */
  entries: CraftEntry[];
  /** What manifest.json lists; default: every regular-file entry (first occurrence), honestly hashed. */
  declared?: DeclaredFile[];
  metadata?: (m: Metadata) => void;
  manifest?: (m: Manifest) => void;
  /** Raw manifest.json text instead of the generated one (for malformed manifests). */
  manifestJson?: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

function sourceOf(p: string): string {
  if (p.startsWith('config/')) return 'config';
  if (p.startsWith('extras/models/')) return 'models';
  if (p.startsWith('extras/cache/')) return 'cache';
  if (p.startsWith('extras/temp/')) return 'temp';
  return 'config';
}

type Headers = Partial<tar.Header> & Pick<tar.Header, 'name'>;

async function packTar(entries: { header: Headers; data: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack as AsyncIterable<Buffer>) parts.push(chunk);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(e.header, e.data, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

function headerOf(e: CraftEntry, mtime: Date): Headers {
  const type = e.type ?? 'file';
  const h: Headers = { name: e.name, type, mode: 0o600, mtime };
  if (type === 'file') h.size = e.data?.length ?? 0;
  if (e.linkname !== undefined) h.linkname = e.linkname;
  if (e.devmajor !== undefined) h.devmajor = e.devmajor;
  if (e.devminor !== undefined) h.devminor = e.devminor;
  if (e.pax) h.pax = e.pax;
  return h;
}

export function defaultMetadata(declared: DeclaredFile[]): Metadata {
  const databases: Metadata['databases'] = {};
  for (const f of declared) {
    const source = f.source ?? sourceOf(f.path);
    const s = (databases[source] ??= {
      kind: source === 'config' ? 'config' : 'extra',
      archive_path: source === 'config' ? 'config/' : `extras/${source}/`,
      size_bytes: 0,
      files: 0,
      encrypted: false,
      consistent: true,
      method: 'file-copy',
    });
    s.size_bytes += f.size ?? f.data.length;
    s.files++;
  }
  return {
    backup_version: 1,
    tool: { name: 'aico-backup', version: TOOL_VERSION },
    id: randomUUID(),
    created: new Date().toISOString(),
    backup_type: 'full',
    parent_id: null,
    encryption: { enabled: false },
    compression: { algorithm: 'none', level: null, codec_level: null, chunk_size: CHUNK_SIZE },
    databases,
    platform: { os: process.platform, arch: process.arch, node: process.version },
    home: '/nonexistent/aico-home',
  };
}

/** A complete archive (plain tar + locator) as bytes. */
export async function craftArchive(opts: CraftOptions): Promise<Buffer> {
  const declared: DeclaredFile[] =
    opts.declared ??
    opts.entries
      .filter((e) => (e.type ?? 'file') === 'file')
      .filter((e, i, all) => all.findIndex((o) => o.name === e.name) === i)
      .map((e) => ({ path: e.name, data: e.data ?? Buffer.alloc(0) }));
  const metadata = defaultMetadata(declared);
  opts.metadata?.(metadata);
  const metadataJson = Buffer.from(`${JSON.stringify(metadata, null, 2)}\n`);
  const mtime = new Date(metadata.created);

  const body = await packTar([
    { header: { name: 'metadata.json', type: 'file', size: metadataJson.length, mode: 0o600, mtime }, data: metadataJson },
    ...opts.entries.map((e) => ({ header: headerOf(e, mtime), data: (e.type ?? 'file') === 'file' ? (e.data ?? Buffer.alloc(0)) : Buffer.alloc(0) })),
  ]);
  // The body continues into the tail: drop its end-of-archive blocks (as TarOut does).
  const eof = body.subarray(body.length - TAR_EOF_BYTES);
  if (eof.some((b) => b !== 0)) throw new Error('craft: tar did not end with zero blocks');
  const bodyBytes = body.subarray(0, body.length - TAR_EOF_BYTES);

  const files: ManifestFile[] = [];
  const blocks: Buffer[] = [];
  for (const f of declared) {
    const hashes: Buffer[] = [];
    for (let off = 0; off < f.data.length; off += DEFAULT_BLOCK_SIZE) hashes.push(sha256(f.data.subarray(off, off + DEFAULT_BLOCK_SIZE)));
    files.push({
      path: f.path,
      source: f.source ?? sourceOf(f.path),
      size: f.size ?? f.data.length,
      mode: 0o600,
      mtime: mtime.toISOString(),
      sha256: sha256(f.data).toString('hex'),
      block_size: DEFAULT_BLOCK_SIZE,
      blocks_offset: blocks.length,
      // Consistent with the declared size, as a forger would make it, so the deeper checks are what refuse it.
      blocks_count: Math.ceil((f.size ?? f.data.length) / DEFAULT_BLOCK_SIZE),
    });
    blocks.push(...hashes);
  }
  const manifest: Manifest = {
    format: 1,
    block_hash: 'sha256',
    metadata_sha256: sha256(metadataJson).toString('hex'),
    files,
  };
  opts.manifest?.(manifest);
  const manifestJson = Buffer.from(opts.manifestJson ?? `${JSON.stringify(manifest)}\n`);
  const blocksBuf = Buffer.concat(blocks);
  const tail = await packTar([
    { header: { name: 'manifest.json', type: 'file', size: manifestJson.length, mode: 0o600, mtime }, data: manifestJson },
    { header: { name: 'manifest.blocks', type: 'file', size: blocksBuf.length, mode: 0o600, mtime }, data: blocksBuf },
  ]);
  const locator = encodeLocator({
    tailOffset: bodyBytes.length,
    tailTarOffset: bodyBytes.length,
    tarLength: bodyBytes.length + tail.length,
    chunkSize: CHUNK_SIZE,
  });
  return Buffer.concat([bodyBytes, tail, locator]);
}
