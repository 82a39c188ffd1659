import S3rver from 's3rver';
import AWSAccount from 's3rver/lib/models/account.js';
AWSAccount.DUMMY_ACCOUNT.createKeyPair('AK', 'SK');
const s = new S3rver({ address: '127.0.0.1', port: 4599, silent: true, directory: process.argv[2], configureBuckets: [{ name: 'backups' }] });
await s.run(); console.log('up');
