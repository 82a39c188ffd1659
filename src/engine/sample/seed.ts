import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Prng } from './prng.js';
import { sentence } from './words.js';

export interface SeedOptions {
  home: string;
  /** Approximate total size in MiB. */
  sizeMb: number;
  seed?: number;
}

export interface SeedResult {
  home: string;
  bytes: number;
  files: number;
}


const CHUNK = 1 << 20;

/** Writes `size` bytes produced 1 MiB at a time, so seeding 1 GB stays small in memory. */
async function writeGenerated(file: string, size: number, fill: (buf: Buffer, offset: number) => void): Promise<number> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const handle = await fs.open(file, 'w', 0o600);
  try {
    for (let off = 0; off < size; off += CHUNK) {
      const buf = Buffer.alloc(Math.min(CHUNK, size - off));
      fill(buf, off);
      await handle.write(buf, 0, buf.length, off);
    }
  } finally {
    await handle.close();
  }
  return size;
}

/** SQLite-like 4 KiB pages: a small header, rows of text and integers, zeroed free space. */
function pageFill(rng: Prng) {
  return (buf: Buffer, offset: number) => {
    for (let p = 0; p < buf.length; p += 4096) {
      buf.writeUInt32BE((offset + p) / 4096 + 1, p);
      buf[p + 4] = 0x0d;
      let pos = p + 16;
      const end = p + 4096 - 512 - rng.int(1024);
      while (pos < end) {
        const row = `${rng.int(1e6)}|${new Date(1.7e12 + rng.int(3e10)).toISOString()}|${sentence(rng)}`;
        pos += buf.write(row, pos, Math.min(row.length, end - pos), 'latin1');
      }
    }
  };
}

/** 768-dimensional float32 embeddings: effectively incompressible. */
function vectorFill(rng: Prng) {
  return (buf: Buffer) => {
    const floats = new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 4));
    for (let i = 0; i < floats.length; i++) floats[i] = (rng.float() - 0.5) * 0.2;
  };
}

/** Recent messages as log-like text lines: highly compressible. */
function textFill(rng: Prng) {
  return (buf: Buffer) => {
    let pos = 0;
    while (pos < buf.length) {
      const line = `${new Date(1.7e12 + rng.int(3e10)).toISOString()} INFO conversation ${rng.int(5000)}: ${sentence(rng)}\n`;
      pos += buf.write(line, pos, 'latin1');
    }
  };
}

/**
 * Generates a tree of plain files with the mix of data AICO holds
 * (SQLite-like pages, float32 vectors, log text) under the home's extras
 * (models/, cache/) and config: what the archive-format tests and the
 * bench need, without database engines. Deterministic for a given seed and size.
 */
export async function seedFiles(opts: SeedOptions): Promise<SeedResult> {
  const rng = new Prng(opts.seed ?? 42);
  const total = Math.max(1, opts.sizeMb) * CHUNK;
  const at = (p: string) => path.join(opts.home, p);
  const plan: [string, number, (buf: Buffer, offset: number) => void][] = [
    ['models/pages.db', Math.round(total * 0.3 / 4096) * 4096, pageFill(rng)],
    ['models/index/chroma.sqlite3', Math.round(total * 0.15 / 4096) * 4096, pageFill(rng)],
    ['models/index/6f1c2a9e-segment/data_level0.bin', Math.round(total * 0.4 / 3072) * 3072, vectorFill(rng)],
    ['cache/messages.log', Math.round(total * 0.15 / 4096) * 4096, textFill(rng)],
  ];
  let bytes = 0;
  let files = 0;
  for (const [rel, size, fill] of plan) {
    bytes += await writeGenerated(at(rel), size, fill);
    files++;
  }
  const small: [string, string | Buffer][] = [
    ['models/pages.db.salt', Buffer.from(Array.from({ length: 16 }, () => rng.int(256)))],
    ['models/index/6f1c2a9e-segment/header.bin', Buffer.alloc(100, 1)],
    ['models/index/6f1c2a9e-segment/length.bin', Buffer.alloc(400, 2)],
    ['models/index/6f1c2a9e-segment/link_lists.bin', Buffer.alloc(0)],
    ['cache/lock.bin', Buffer.alloc(8192)],
    ['config/runtime.yaml', 'runtime:\n  log_level: info\n  language: en\n'],
    ['config/user_preferences.json', `${JSON.stringify({ name: 'Sam', voice: 'warm', theme: 'dark' }, null, 2)}\n`],
    ['config/models.yaml', 'models:\n  conversation: hermes3:8b\n  embedding: paraphrase-multilingual:768\n'],
  ];
  for (const [rel, content] of small) {
    await fs.mkdir(path.dirname(at(rel)), { recursive: true, mode: 0o700 });
    await fs.writeFile(at(rel), content, { mode: 0o600 });
    bytes += Buffer.byteLength(content);
    files++;
  }
  return { home: opts.home, bytes, files };
}
