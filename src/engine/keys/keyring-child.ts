/**
 * Runs one keyring call in a separate process. The native keyring binding
 * blocks its thread while it talks to D-Bus, and a bus that accepts a
 * connection but never answers blocks it forever; in a child process the
 * parent can time the call out and kill it. Request and secrets travel over
 * stdin/stdout, never argv.
 */
import { Entry } from '@napi-rs/keyring';
import { readRequest } from '../proc/request.js';

interface Request {
  op: 'get' | 'set' | 'delete';
  service: string;
  account: string;
  /** base64, for set */
  value?: string;
  store?: 'secret-service' | 'keyutils';
}

async function main(): Promise<void> {
  const req = await readRequest<Request>();
  let reply: Record<string, unknown>;
  try {
    const entry = new Entry(req.service, req.account, req.store ? { linux: { store: req.store } } : undefined);
    if (req.op === 'get') {
      const value = entry.getPassword();
      reply = { ok: true, value: value === null ? null : Buffer.from(value, 'utf8').toString('base64') };
    } else if (req.op === 'set') {
      entry.setPassword(Buffer.from(req.value ?? '', 'base64').toString('utf8'));
      reply = { ok: true };
    } else {
      reply = { ok: true, deleted: entry.deleteCredential() };
    }
  } catch (error) {
    reply = { ok: false, message: (error as Error)?.message ?? String(error) };
  }
  process.stdout.write(JSON.stringify(reply));
}

void main();
