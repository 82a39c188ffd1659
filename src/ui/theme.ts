/**
 * Colours only where they help and only where the terminal wants them:
 * NO_COLOR (https://no-color.org) or TERM=dumb turns them all off, and
 * nothing relies on colour alone (selection also has a ">" marker).
 */
export interface Theme {
  accent?: string;
  dim: boolean;
  error?: string;
  ok?: string;
  warn?: string;
}

export function makeTheme(env: NodeJS.ProcessEnv = process.env): Theme {
  const plain = env.NO_COLOR !== undefined || env.TERM === 'dumb';
  return plain ? { dim: false } : { accent: 'cyan', dim: true, error: 'red', ok: 'green', warn: 'yellow' };
}
