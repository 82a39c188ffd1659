// Every key derivation costs a PBKDF2 run (600,000 iterations, ~0.2 s at the
// tool's setting): a restore derives the archive's key and the key that opens
// its encryption_key.enc once each, however many times it reads the archive
// or uses the master key (prepare, then commit). Derivations are counted by
// their salt through the KDF's test seam; each salt stands for one key.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readKeyEntry } from '../../../src/engine/archive/key-entry.js';
import { ArchiveReader } from '../../../src/engine/archive/reader.js';
import { kdfProbe } from '../../../src/engine/crypto/kdf.js';
import { Keyring, MASTER_KEY_ACCOUNT } from '../../../src/engine/keys/keyring.js';
import { create } from '../../../src/engine/ops/create.js';
import { prepareRestore, restore, type RestoreOptions } from '../../../src/engine/ops/restore.js';
import { seedSample } from '../../../src/engine/sample/seed-home.js';
import { tempDir } from '../../helpers.js';

/** A keyring that lives in this process, so the in-place restore can store the backup's master key. */
class MemoryKeyring extends Keyring {
  readonly values = new Map<string, Buffer>();
  override async get(account: string) {
    const v = this.values.get(account);
    return v ? Buffer.from(v) : null;
  }
  override async set(account: string, value: Buffer) {
    this.values.set(account, Buffer.from(value));
  }
  override async delete(account: string) {
    return this.values.delete(account);
  }
}

const dir = tempDir('aico-derive-once-');
const at = (...p: string[]) => path.join(dir, ...p);
const password = async () => Buffer.from('derive-once password');
let archive = '';
let env: NodeJS.ProcessEnv = {};
let masterKey = '';
/** The archive's own salt (public header) and the salt of its encryption_key.enc. */
let archiveSalt = '';
let keyEntrySalt = '';

before(async () => {
  const seeded = await seedSample({ home: at('home'), sizeMb: 1, seed: 3, chroma: false });
  masterKey = seeded.masterKey;
  env = { ...process.env, AICO_MASTER_KEY: seeded.masterKey, DBUS_SESSION_BUS_ADDRESS: undefined, XDG_STATE_HOME: at('state') };
  const made = await create({
    home: at('home'), outputDir: at('backups'), encrypt: true, password, compression: 'zstd', compressionLevel: 3,
    include: ['libsql', 'working', 'config'], exclude: [], env, kdfIterations: 1000,
  });
  assert.equal(made.masterKey.included, true);
  archive = made.backup.path;
  archiveSalt = (await ArchiveReader.peekHeader(archive)).header!.header.kdf.salt;
  const reader = await ArchiveReader.open(archive, password);
  try {
    keyEntrySalt = JSON.parse((await readKeyEntry(reader))!.toString('utf8')).kdf.salt;
  } finally {
    await reader.close();
  }
});

/** Salt (base64) -> how many times a key was derived with it, while `run` runs. */
async function derivations(run: () => Promise<unknown>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  kdfProbe.onDerive = (params) => {
    const salt = params.salt.toString('base64');
    counts.set(salt, (counts.get(salt) ?? 0) + 1);
  };
  try {
    await run();
  } finally {
    kdfProbe.onDerive = null;
  }
  return counts;
}
after(() => {
  kdfProbe.onDerive = null;
});

let homes = 0;
async function oldHome(): Promise<string> {
  const home = at(`target-${++homes}`);
  await fs.cp(at('home'), home, { recursive: true });
  return home;
}
const options = (home: string, keyring: Keyring): RestoreOptions => ({
  path: archive, password, home, safetyBackupDir: at(`safety-${homes}`), keyring, env, kdfIterations: 1000,
});

describe('a restore derives each key once', () => {
  test('in place, with its safety backup and the master key stored: the archive key and the key entry key once each', async () => {
    const keyring = new MemoryKeyring();
    const home = await oldHome();
    let result;
    const counts = await derivations(async () => (result = await restore(options(home, keyring))));
    assert.ok(result!.safetyBackup, 'a safety backup was written (its own new salts)');
    assert.equal(result!.masterKey.keyring, 'stored');
    assert.deepEqual(keyring.values.get(MASTER_KEY_ACCOUNT), Buffer.from(masterKey), 'the backup\'s master key went into the keyring');
    assert.equal(counts.get(archiveSalt), 1, 'the archive key');
    assert.equal(counts.get(keyEntrySalt), 1, 'the key that opens encryption_key.enc');
    // The safety backup derives its own archive key and seals the master key under a new salt: once each.
    assert.deepEqual([...counts.values()], [1, 1, 1, 1], `derivations per salt: ${JSON.stringify([...counts])}`);
  });

  test('a prepared restore committed later derives nothing again at commit', async () => {
    const keyring = new MemoryKeyring();
    const home = await oldHome();
    let prepared!: Awaited<ReturnType<typeof prepareRestore>>;
    const atPrepare = await derivations(async () => (prepared = await prepareRestore(options(home, keyring))));
    assert.deepEqual(Object.fromEntries(atPrepare), { [archiveSalt]: 1, [keyEntrySalt]: 1 });
    const atCommit = await derivations(() => prepared.commit());
    assert.equal(atCommit.get(archiveSalt), undefined);
    assert.equal(atCommit.get(keyEntrySalt), undefined, 'the master key opened at prepare is the one stored at commit');
    assert.equal(keyring.values.has(MASTER_KEY_ACCOUNT), true);
  });
});
