import { Box, Text } from 'ink';
import Spinner from 'ink-spinner';
import React, { useEffect } from 'react';
import type { InfoResult } from '../engine/index.js';
import { DerivingKey } from '../ui/components/deriving-key.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { useApp } from '../ui/context.js';
import { formatBytes } from '../ui/format.js';
import { PasswordGate } from '../ui/password-gate.js';
import { useBackKeys } from '../ui/use-back.js';
import { useOperation } from '../ui/use-operation.js';

function counts(s: Record<string, unknown>): string {
  const t = s.tables as Record<string, number> | undefined;
  const c = s.collections as Record<string, number> | undefined;
  if (t) return `${Object.values(t).reduce((a, b) => a + b, 0)} rows in ${Object.keys(t).length} tables`;
  if (c) return `${Object.values(c).reduce((a, b) => a + b, 0)} records in ${Object.keys(c).length} collections`;
  if (typeof s.entries === 'number') return `${s.entries} entries`;
  return '';
}

function InfoBody({ path, password }: { path: string; password: (() => Promise<Buffer>) | undefined }) {
  const { engine, passwords } = useApp();
  const op = useOperation<InfoResult>();
  useEffect(() => {
    void op.run((ctx) => engine.info({ path, password: op.deriving(password) }, ctx));
  }, [path]);
  useBackKeys(op.state.status !== 'running', 'info');
  if (op.state.error?.code === 'WRONG_PASSWORD') passwords.delete(path);
  const r = op.state.result;
  const m = r?.metadata;
  return (
    <Box flexDirection="column">
      <Text bold>{path}</Text>
      {op.state.status === 'running' && op.state.deriving ? <DerivingKey /> : null}
      {op.state.status === 'running' && !op.state.deriving ? (
        <Text>
          <Spinner type="line" /> Reading metadata and manifest
        </Text>
      ) : null}
      {op.state.error ? <ErrorBox error={op.state.error} /> : null}
      {m ? (
        <Box flexDirection="column">
          <Text>id          {m.id}</Text>
          <Text>created     {m.created}</Text>
          <Text>type        {m.backup_type}{m.parent_id ? ` (parent ${m.parent_id})` : ''}</Text>
          <Text>format      {m.backup_version}, aico-backup {m.tool?.version}</Text>
          <Text>compression {m.compression.algorithm}{m.compression.level ? ` level ${m.compression.level}` : ''}</Text>
          <Text>encryption  {m.encryption.enabled ? 'AES-256-GCM, PBKDF2' : 'none'}{m.master_key ? `; master key ${m.master_key.included ? 'included' : 'not included'}` : ''}</Text>
          <Text bold>Contents</Text>
          {Object.entries(m.databases).map(([name, s]) => (
            <Text key={name}>
              {'  '}
              {name.padEnd(9)} {formatBytes(s.size_bytes).padStart(10)}  {String(s.files).padStart(4)} files  {s.consistent ? '' : 'INCONSISTENT  '}
              {counts(s as unknown as Record<string, unknown>)}
            </Text>
          ))}
        </Box>
      ) : null}
      <Footer hints={[['q', 'back'], ['?', 'help']]} />
    </Box>
  );
}

export function InfoScreen({ path }: { path: string }) {
  useBackKeys(false, 'info');
  return <PasswordGate path={path}>{(password) => <InfoBody path={path} password={password} />}</PasswordGate>;
}
