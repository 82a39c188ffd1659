/**
 * Worker thread for verify and restore: hashes file contents (whole-file
 * SHA-256 and per-block SHA-256, plus a digest over the block hashes) so the
 * main thread only decrypts, decompresses and writes. Protocol: hash-pool.ts.
 */
import { createHash, hash as oneShot, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

interface Job {
  blockSize: number;
  whole: Hash;
  run: Hash;
  carry: Buffer | null;
}

const jobs = new Map<number, Job>();
const port = parentPort!;

function block(job: Job, data: Buffer): void {
  job.run.update(oneShot('sha256', data, 'buffer') as unknown as Buffer);
}

port.on('message', (msg: { type: string; id: number; blockSize?: number; data?: Uint8Array }) => {
  if (msg.type === 'begin') {
    jobs.set(msg.id, { blockSize: msg.blockSize!, whole: createHash('sha256'), run: createHash('sha256'), carry: null });
    return;
  }
  const job = jobs.get(msg.id);
  if (!job) return;
  if (msg.type === 'update') {
    const chunk = Buffer.from(msg.data!.buffer, msg.data!.byteOffset, msg.data!.byteLength);
    job.whole.update(chunk);
    let data = chunk;
    if (job.carry) {
      data = Buffer.concat([job.carry, chunk]);
      job.carry = null;
    }
    let off = 0;
    for (; off + job.blockSize <= data.length; off += job.blockSize) block(job, data.subarray(off, off + job.blockSize));
    if (off < data.length) job.carry = Buffer.from(data.subarray(off));
    port.postMessage({ type: 'ack', id: msg.id });
  } else if (msg.type === 'finish') {
    if (job.carry) block(job, job.carry);
    jobs.delete(msg.id);
    port.postMessage({ type: 'done', id: msg.id, sha256: job.whole.digest('hex'), run: job.run.digest('hex') });
  }
});
