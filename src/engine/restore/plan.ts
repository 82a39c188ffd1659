import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathExists } from '../fsutil/atomic-file.js';
import { UNITS } from './layout.js';
import type { StageResult } from './stage.js';
import type { UnitValidation } from './validate.js';

export type UnitAction = 'replace' | 'add' | 'skip' | 'merge';

export interface UnitOutcome {
  name: string;
  action: UnitAction;
  files: number;
  bytes: number;
  skipped: string[];
  validation: UnitValidation | null;
}

/** What the swap will do to the target: per unit its action, and the home paths it replaces, adds or removes. */
export interface SwapPlan {
  units: UnitOutcome[];
  paths: string[];
}

/** Home-relative paths of the files under `root` in `base` (a home-like tree). */
async function filesUnder(base: string, root: string): Promise<string[]> {
  const dir = path.join(base, root);
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile() || e.isSymbolicLink()) out.push(path.posix.join(root, path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')));
  }
  return out;
}

/**
 * Config is restored file by file: the staged files new to the target, the
 * ones that exist there, and the target's files the backup does not hold
 * (kept in every mode: a backup that does not mention a file says nothing
 * about deleting it).
 */
async function configFiles(staging: string, target: string, root: string): Promise<{ add: string[]; existing: string[]; notInBackup: string[] }> {
  const staged = await filesUnder(staging, root);
  const add: string[] = [];
  const existing: string[] = [];
  for (const rel of staged) ((await pathExists(path.join(target, rel))) ? existing : add).push(rel);
  const inBackup = new Set(staged);
  const notInBackup = (await filesUnder(target, root)).filter((rel) => !inBackup.has(rel));
  return { add, existing, notInBackup };
}

/** Decides, from what is staged and what the target holds now, what happens to each wanted unit. */
export async function planSwap(o: {
  staging: string;
  target: string;
  wanted: string[];
  merge: boolean;
  staged: StageResult['units'];
  validations: UnitValidation[];
}): Promise<SwapPlan> {
  const units: UnitOutcome[] = [];
  const paths: string[] = [];
  for (const unitName of o.wanted) {
    const unit = UNITS.find((u) => u.name === unitName)!;
    const present = (await Promise.all(unit.homePaths.map((p) => pathExists(path.join(o.target, p))))).some(Boolean);
    const size = o.staged[unitName] ?? { files: 0, bytes: 0 };
    const validation = o.validations.find((v) => v.unit === unitName) ?? null;
    if (unit.mergeByFile && present) {
      const m = await configFiles(o.staging, o.target, unit.homePaths[0]!);
      if (o.merge) {
        paths.push(...m.add);
        units.push({ name: unitName, action: m.add.length ? 'merge' : 'skip', files: m.add.length, bytes: size.bytes, skipped: m.existing, validation });
      } else {
        paths.push(...m.add, ...m.existing);
        units.push({ name: unitName, action: 'replace', files: size.files, bytes: size.bytes, skipped: m.notInBackup, validation });
      }
      continue;
    }
    if (o.merge && present) {
      units.push({ name: unitName, action: 'skip', files: 0, bytes: 0, skipped: unit.homePaths.filter(Boolean), validation });
      continue;
    }
    paths.push(...unit.homePaths);
    units.push({ name: unitName, action: present ? 'replace' : 'add', files: size.files, bytes: size.bytes, skipped: [], validation });
  }
  return { units, paths };
}

/**
 * How `now` differs from `then` in what a commit relies on: a unit's action
 * (an 'add' that became a 'replace' would replace data no safety backup
 * saved) or the paths the swap touches (a file a merge would now overwrite).
 * Null when they agree; files the swap leaves alone may differ.
 */
export function planDrift(then: SwapPlan, now: SwapPlan): string | null {
  const actions = then.units
    .map((u) => [u, now.units.find((n) => n.name === u.name)] as const)
    .filter(([u, n]) => u.action !== n?.action)
    .map(([u, n]) => `${u.name} would now be ${n?.action ?? 'left out'} instead of ${u.action}`);
  if (actions.length) return actions.join('; ');
  const before = new Set(then.paths);
  const after = new Set(now.paths);
  const changed = [...[...after].filter((p) => !before.has(p)), ...[...before].filter((p) => !after.has(p))];
  return changed.length ? `the files it would write differ (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''})` : null;
}
