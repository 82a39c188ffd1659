import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ArchiveReader } from '../../../src/engine/archive/reader.js';
import { parseTar } from '../../../src/engine/archive/tar-in.js';
import { verify } from '../../../src/engine/index.js';
import { ROOT, tempDir } from '../../helpers.js';

// docs/FORMAT.md prints a whole archive as a hex dump; this keeps the dump,
// the facts stated next to it and the tool in agreement.

async function exampleSection(): Promise<string> {
  const doc = await fs.readFile(path.join(ROOT, 'docs', 'FORMAT.md'), 'utf8');
  const start = doc.indexOf('### Example archive');
  const end = doc.indexOf('\n## 15.', start);
  assert.ok(start > 0 && end > start, 'FORMAT.md has an example archive section in section 14');
  return doc.slice(start, end);
}

/** Bytes of an xxd dump, checking that every line starts where the previous one ended. */
function fromXxd(section: string): Buffer {
  const block = /```text\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the section holds a ```text hex dump');
  const parts: Buffer[] = [];
  let offset = 0;
  for (const line of block[1]!.split('\n').filter((l) => l.length > 0)) {
    const m = /^([0-9a-f]{8}): ((?:[0-9a-f]{2,4} ?){1,8}) /.exec(line);
    assert.ok(m, `not an xxd line: ${line}`);
    assert.equal(parseInt(m[1]!, 16), offset, `line offset ${m[1]}`);
    const bytes = Buffer.from(m[2]!.replace(/ /g, ''), 'hex');
    parts.push(bytes);
    offset += bytes.length;
  }
  return Buffer.concat(parts);
}

const stated = (section: string, re: RegExp): string[] => {
  const m = re.exec(section);
  assert.ok(m, `FORMAT.md example states ${re}`);
  return m.slice(1);
};

describe('the example archive printed in docs/FORMAT.md', () => {
  test('decodes to the stated file, which verify accepts with the stated password and which holds exactly the stated entries', async () => {
    const section = await exampleSection();
    const bytes = fromXxd(section);
    const [name, size, sha] = stated(section, /File: `([^`]+)` \((\d+) bytes\), SHA-256 `([0-9a-f]{64})`/);
    const [password] = stated(section, /Password: `([^`]+)`/);
    assert.equal(bytes.length, Number(size));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), sha);

    const [L, P] = stated(section, /L = 0x[0-9a-f]+ = (\d+);[\s\S]*?P = (\d+);/);
    assert.equal(bytes.readUInt32BE(10), Number(L));
    assert.equal(Number(bytes.readBigUInt64BE(14 + Number(L))), Number(P));

    const rows = [...section.matchAll(/^\s*\| `([^`]+)` \| (\d+) \| (.*) \|\s*$/gm)].map((m) => ({ entry: m[1]!, size: Number(m[2]), content: m[3]! }));
    assert.deepEqual(rows.map((r) => r.entry), ['metadata.json', 'config/user.yaml', 'manifest.json', 'manifest.blocks']);

    const file = path.join(tempDir(), name!);
    await fs.writeFile(file, bytes);
    const pw = () => Promise.resolve(Buffer.from(password!));
    const contents = new Map<string, Buffer>();
    const result = await verify({
      path: file,
      password: pw,
      onFile: async (f) => {
        const parts: Buffer[] = [];
        return { write: async (chunk) => void parts.push(Buffer.from(chunk)), end: async () => void contents.set(f.path, Buffer.concat(parts)) };
      },
    });
    assert.deepEqual([result.ok, result.problems, result.encrypted, result.compression], [true, [], true, 'zstd']);

    // Every entry, in order, with its size: exactly the table.
    const reader = await ArchiveReader.open(file, pw);
    const entries: { entry: string; size: number }[] = [];
    try {
      const [tailOffset, tailTarOffset, tarLength] = stated(section, /tail offset (\d+), tail tar offset (\d+), tar length (\d+)/).map(Number);
      const loc = await reader.locator();
      assert.deepEqual([loc.tailOffset, loc.tailTarOffset, loc.tarLength], [tailOffset, tailTarOffset, tarLength]);
      await parseTar(reader.tar(0, reader.payloadLength - reader.locatorFrameLength), async (entry) => {
        entries.push({ entry: entry.header.name, size: entry.header.size ?? -1 });
      });
    } finally {
      await reader.close();
    }
    assert.deepEqual(entries, rows.map((r) => ({ entry: r.entry, size: r.size })));

    const user = rows.find((r) => r.entry === 'config/user.yaml')!;
    const text = /^`([^`]*)`/.exec(user.content)![1]!.replace(/\\n/g, '\n');
    assert.deepEqual([...contents.keys()], ['config/user.yaml']);
    assert.equal(contents.get('config/user.yaml')!.toString('utf8'), text);
    const [fileSha] = stated(section, /`config\/user\.yaml`, SHA-256 `([0-9a-f]{64})`/);
    assert.equal(createHash('sha256').update(contents.get('config/user.yaml')!).digest('hex'), fileSha);
  });
});
