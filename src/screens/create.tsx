import { Box, Text, useInput } from 'ink';
import Spinner from 'ink-spinner';
import React, { useEffect, useMemo, useRef, useState } from 'react';
import { BACKUP_TYPES, CODEC_NAMES, createOptionsFrom, selectedSources, type CodecName, type CreateFlags, type CreateResult, type GivenPassword, type HomeSource, type RequestedType } from '../engine/index.js';
import { DerivingKey } from '../ui/components/deriving-key.js';
import { ErrorBox } from '../ui/components/error-box.js';
import { Footer } from '../ui/components/footer.js';
import { ProgressBar } from '../ui/components/progress-bar.js';
import { TextInput } from '../ui/components/text-input.js';
import { useApp } from '../ui/context.js';
import { formatBytes } from '../ui/format.js';
import { useBackKeys } from '../ui/use-back.js';
import { errorView, type ErrorView } from '../ui/operation-state.js';
import { SOURCE_LABEL } from '../ui/password-gate.js';
import { useOperation } from '../ui/use-operation.js';

type Step = 'form' | 'output' | 'key' | 'password' | 'repeat' | 'run';

/** Form -> the password as the CLI finds it, else asked twice -> progress -> result. */
export function CreateScreen() {
  const { engine, settings, theme, nav } = useApp();
  const [sources, setSources] = useState<HomeSource[] | null>(null);
  const [homeError, setHomeError] = useState<ErrorView | null>(null);
  // undefined while the CLI's sources (--password-file, $AICO_BACKUP_PASSWORD, the stored one) are being looked at; null: none gives one.
  const [given, setGiven] = useState<GivenPassword | null | undefined>(undefined);
  const [givenError, setGivenError] = useState<ErrorView | null>(null);
  // The form starts as the configuration says; only what is changed in it is passed on as a flag.
  const configured = useMemo(
    () => createOptionsFrom(settings.config, { output: settings.outputDir }, { home: settings.home }).options,
    [settings.config, settings.outputDir, settings.home],
  );
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [ticked, setTicked] = useState<Set<string>>(new Set());
  const [compression, setCompression] = useState<CodecName>(configured.compression);
  const [level, setLevel] = useState(configured.compressionLevel);
  const [encrypt, setEncrypt] = useState(configured.encrypt);
  const [outputDir, setOutputDir] = useState(settings.outputDir);
  const [type, setType] = useState<RequestedType>('full');
  const [field, setFieldState] = useState(0);
  // Keys can arrive several per read: the handler must see the field the previous key moved to.
  const fieldRef = useRef(0);
  const setField = (f: (i: number) => number) => {
    fieldRef.current = f(fieldRef.current);
    setFieldState(fieldRef.current);
  };
  const [step, setStep] = useState<Step>('form');
  const [first, setFirst] = useState<string | null>(null);
  const [mismatch, setMismatch] = useState(false);
  const op = useOperation<CreateResult>();

  useEffect(() => {
    void engine.describeHome({ home: settings.home }).then(
      (s) => {
        const wanted = new Set(selectedSources(configured));
        const initial = new Set(s.filter((x) => x.present && wanted.has(x.name)).map((x) => x.name));
        setSources(s);
        setChosen(initial);
        setTicked(initial);
      },
      (e) => setHomeError(errorView(e)),
    );
  }, [engine, settings.home, configured]);
  useEffect(() => {
    let live = true;
    engine.givenPassword({ file: settings.passwordFile, stored: true }).then(
      (g) => live && setGiven(g),
      (e) => {
        if (!live) return;
        setGivenError(errorView(e));
        setGiven(null);
      },
    );
    return () => {
      live = false;
    };
  }, [engine, settings.passwordFile]);

  const fields = ['compression', 'level', 'encrypt', 'output', 'type', ...(sources ?? []).map((s) => `source:${s.name}`)];
  const start = (password: Buffer | null) => {
    setStep('run');
    const flags: CreateFlags = {
      output: outputDir,
      encrypt,
      compression,
      ...(level !== configured.compressionLevel ? { compressionLevel: level } : {}),
      ...(type !== 'full' ? { type } : {}),
      ...(sameSet(chosen, ticked) ? {} : { include: (sources ?? []).filter((s) => chosen.has(s.name)).map((s) => s.name) }),
    };
    void op.run(async (ctx) => {
      const { options, warnings } = createOptionsFrom(settings.config, flags, { home: settings.home });
      for (const warning of warnings) ctx.onEvent?.({ type: 'warning', ...warning });
      return engine.create({ ...options, password: op.deriving(password ? async () => password : undefined) }, ctx);
    });
  };

  const running = op.state.status === 'running';
  useInput(
    (input, key) => {
      const f = fields[fieldRef.current];
      if (key.upArrow) setField((i) => (i + fields.length - 1) % fields.length);
      else if (key.downArrow || key.tab) setField((i) => (i + 1) % fields.length);
      else if (f === 'compression' && (key.leftArrow || key.rightArrow)) {
        const step = key.rightArrow ? 1 : CODEC_NAMES.length - 1;
        setCompression((c) => CODEC_NAMES[(CODEC_NAMES.indexOf(c) + step) % CODEC_NAMES.length]!);
      } else if (f === 'level' && (key.leftArrow || key.rightArrow)) setLevel((l) => Math.min(9, Math.max(1, l + (key.rightArrow ? 1 : -1))));
      else if (f === 'encrypt' && (input === ' ' || key.leftArrow || key.rightArrow)) setEncrypt((e) => !e);
      else if (f === 'type' && (key.leftArrow || key.rightArrow)) {
        const step = key.rightArrow ? 1 : BACKUP_TYPES.length - 1;
        setType((t) => BACKUP_TYPES[(BACKUP_TYPES.indexOf(t) + step) % BACKUP_TYPES.length]!);
      }
      else if (f === 'output' && (input === ' ' || input === 'e')) setStep('output');
      else if (f?.startsWith('source:') && input === ' ') {
        const name = f.slice(7);
        setChosen((c) => {
          const next = new Set(c);
          if (next.has(name)) next.delete(name);
          else next.add(name);
          return next;
        });
      } else if (key.return && chosen.size > 0) setStep(encrypt ? 'key' : 'run');
    },
    { isActive: step === 'form' },
  );
  useEffect(() => {
    if (step === 'run' && op.state.status === 'idle' && !encrypt) start(null);
    // Asked only when no source gives one, as the CLI does.
    if (step === 'key' && given !== undefined) {
      // A copy: create wipes the password it was given once it is done with it.
      if (given) start(Buffer.from(given.password));
      else setStep('password');
    }
  }, [step, given]);
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') nav.quit();
      else if (key.escape) setStep('form');
    },
    { isActive: step === 'key' },
  );
  useInput(
    (input, key) => {
      if (key.escape || (key.ctrl && input === 'c')) op.cancel();
    },
    { isActive: running },
  );
  useInput(
    (input, key) => {
      if (key.return || input === 'q' || key.escape) nav.pop();
    },
    { isActive: step === 'run' && !running && op.state.status !== 'idle' },
  );
  useBackKeys(step === 'form', 'create');
  useInput((input, key) => key.ctrl && input === 'c' && nav.quit(), { isActive: step === 'password' || step === 'repeat' || step === 'output' });

  if (step === 'output') {
    return <TextInput label="Backup directory: " initial={outputDir} onSubmit={(v) => (setOutputDir(v || outputDir), setStep('form'))} onCancel={() => setStep('form')} />;
  }
  if (step === 'key') {
    return (
      <Text>
        <Spinner type="line" /> Looking for the backup password
      </Text>
    );
  }
  if (step === 'password' || step === 'repeat') {
    return (
      <Box flexDirection="column">
        <Text bold>Password for the encrypted backup</Text>
        {givenError ? <ErrorBox error={givenError} /> : null}
        {mismatch ? <Text color={theme.error}>The two passwords differ; type it again.</Text> : null}
        {step === 'password' ? (
          <TextInput key="pw1" label="Password: " mask onSubmit={(v) => (v ? (setFirst(v), setStep('repeat')) : undefined)} onCancel={() => setStep('form')} />
        ) : (
          <TextInput
            key="pw2"
            label="Repeat:   "
            mask
            onSubmit={(v) => {
              if (v !== first) {
                setMismatch(true);
                setFirst(null);
                setStep('password');
                return;
              }
              setMismatch(false);
              start(Buffer.from(v));
            }}
            onCancel={() => setStep('form')}
          />
        )}
        <Footer hints={[['enter', 'next'], ['esc', 'back to the form']]} />
      </Box>
    );
  }
  if (step === 'run') {
    const r = op.state.result;
    return (
      <Box flexDirection="column">
        <Text bold>Creating a backup of {settings.home}</Text>
        {op.state.phase ? <Text>{op.state.phase}</Text> : null}
        {running && op.state.deriving ? <DerivingKey /> : null}
        {running && op.state.progress ? <ProgressBar progress={op.state.progress} /> : null}
        {running && !op.state.progress && !op.state.deriving ? (
          <Text>
            <Spinner type="line" /> working
          </Text>
        ) : null}
        {op.state.warnings.map((w, i) => (
          <Text key={i} color={theme.warn}>
            warning: {w.message}
          </Text>
        ))}
        {op.state.status === 'cancelled' ? <Text color={theme.warn}>Cancelled. No partial file was left in {outputDir}.</Text> : null}
        {op.state.status === 'failed' && op.state.error ? <ErrorBox error={op.state.error} /> : null}
        {r ? (
          <Text color={theme.ok}>
            Saved {r.backup.path} ({formatBytes(r.backup.bytes)}, {r.backup.encrypted ? 'encrypted' : 'NOT encrypted'}
            {r.backup.type === 'full' ? '' : `, ${r.backup.type}: ${formatBytes(r.backup.stored_bytes)} of ${formatBytes(r.backup.data_bytes)} stored, link ${r.backup.chain_length} of its chain`})
          </Text>
        ) : null}
        <Footer hints={running ? [['esc', 'cancel']] : [['enter', 'back to the list']]} />
      </Box>
    );
  }
  const mark = (i: number) => (i === field ? '>' : ' ');
  return (
    <Box flexDirection="column">
      <Text bold>New backup of {settings.home}</Text>
      <Text color={field === 0 ? theme.accent : undefined}>{mark(0)} Compression   {'<'} {compression} {'>'}</Text>
      <Text color={field === 1 ? theme.accent : undefined}>{mark(1)} Level         {'<'} {level} {'>'} {compression === 'lz4' || compression === 'none' ? '(not used)' : '(1 fast .. 9 small)'}</Text>
      <Text color={field === 2 ? theme.accent : undefined}>{mark(2)} Encryption    [{encrypt ? 'x' : ' '}] {encrypt ? `AES-256-GCM, ${given ? `password from ${SOURCE_LABEL[given.source]}` : 'password asked next'}` : 'NOT encrypted'}</Text>
      <Text color={field === 3 ? theme.accent : undefined}>{mark(3)} Backup dir    {outputDir} (space to edit)</Text>
      <Text color={field === 4 ? theme.accent : undefined}>{mark(4)} Type          {'<'} {type} {'>'} {TYPE_HINT[type]}</Text>
      <Text bold>Sources</Text>
      {homeError ? <ErrorBox error={homeError} /> : null}
      {sources === null && !homeError ? (
        <Text>
          <Spinner type="line" /> Looking at the home
        </Text>
      ) : (
        (sources ?? []).map((s, i) => (
          <Text key={s.name} color={field === 5 + i ? theme.accent : undefined} dimColor={!s.present && theme.dim}>
            {mark(5 + i)} [{chosen.has(s.name) ? 'x' : ' '}] {s.name.padEnd(9)} {s.present ? formatBytes(s.bytes) : 'not present'}
          </Text>
        ))
      )}
      {chosen.size === 0 && sources ? <Text color={theme.warn}>Tick at least one source.</Text> : null}
      <Footer hints={[['↑↓', 'field'], ['←→', 'change'], ['space', 'tick'], ['enter', 'start'], ['?', 'help'], ['q', 'back']]} />
    </Box>
  );
}

const TYPE_HINT: Record<RequestedType, string> = {
  full: '(everything)',
  incremental: '(what changed since the newest backup)',
  differential: '(what changed since the newest full backup)',
  auto: '(incremental, or full when there is none to build on)',
};

const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x));
