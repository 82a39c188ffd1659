import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { tempDir } from './helpers.js';

/** The credentials the test server accepts; every request is signed (SigV4) and checked against them. */
export const S3_KEY = { id: 'AICOTESTKEYID0000001', secret: 'aico-test-secret-Zq8w1Vb5nP0xR3tL7kM2' };

// s3rver 3.7 in a child process, so a test can stop it mid-request (a crashed server, a cut connection).
// What it is and is not, as measured with @aws-sdk/client-s3 3.1175 on Node 20:
// - it checks the access key ID, not the signature (a wrong secret passes; SignatureDoesNotMatch cannot be tested);
// - it rejects a request time 15 min off (RequestTimeTooSkewed, 403); the SDK corrects a real skew itself;
// - multipart parts survive a restart on the same directory; Abort (405) and ListMultipartUploads (501) are missing;
//   a Complete naming a part never uploaded crashes the server process (one more reason for a child process);
// - a plain PUT cut off mid-way leaves a short object under its name (our uploads are always multipart);
// - ListObjectsV2 cut by MaxKeys fails on Node 20's OpenSSL 3 (its token uses DES): list without MaxKeys;
// - restic 0.14's s3 backend fails against it ("Unmarshal: invalid character 'b'").
const SERVER = `
import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
const [dir, port, id, secret] = process.argv.slice(1);
// Our own key instead of the well-known S3RVER one, which would pass whatever a bug sent.
AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
AWSAccount.DUMMY_ACCOUNT.createKeyPair(id, secret);
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory: dir, configureBuckets: [{ name: 'backups' }] });
const { port: bound } = await server.run();
process.stdout.write(JSON.stringify({ port: bound }) + '\\n');
`;

export interface TestS3 {
  endpoint: string;
  port: number;
  dir: string;
  /** The environment that points the CLI (and the engine) at this server, with its credentials. */
  env: Record<string, string>;
  stop(): Promise<void>;
  /** A new server on the same port and data directory, after stop(). */
  restart(): Promise<void>;
}

export async function startS3(): Promise<TestS3> {
  const dir = path.join(tempDir('aico-s3-'), 'data');
  mkdirSync(dir);
  let child: ChildProcess | null = null;
  let port = 0;
  const launch = async () => {
    child = spawn(process.execPath, ['--input-type=module', '-e', SERVER, dir, String(port), S3_KEY.id, S3_KEY.secret], {
      cwd: path.resolve('node_modules/..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        const line = out.split('\n')[0];
        if (out.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port);
      });
      child!.on('exit', (code) => reject(new Error(`s3rver exited (${code}) before it listened`)));
    });
  };
  await launch();
  const s3: TestS3 = {
    endpoint: '',
    port,
    dir,
    env: {},
    stop: async () => {
      const c = child as ChildProcess | null;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await gone;
    },
    restart: async () => {
      await s3.stop();
      await launch();
    },
  };
  s3.endpoint = `http://127.0.0.1:${port}`;
  s3.env = {
    AWS_ENDPOINT_URL: s3.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3_KEY.id,
    AWS_SECRET_ACCESS_KEY: S3_KEY.secret,
    AICO_S3_MAX_ATTEMPTS: '2',
  };
  after(() => s3.stop());
  return s3;
}
