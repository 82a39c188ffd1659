import type { Prng } from './prng.js';

/** The vocabulary of every generated sample: conversation-like, so it compresses like AICO's text. */
export const WORDS = (
  'the a remember you said yesterday morning walk garden coffee sister birthday plan music dinner ' +
  'felt happy tired worried excited book chapter started finished learn spanish guitar practice ' +
  'work meeting project deadline friend called weekend trip mountains rain sunny cat dog vet ' +
  'appointment doctor feeling better sleep dream recipe pasta soup bread bake favourite song'
).split(' ');

/** A sentence of min..min+spread-1 words. */
export function sentence(rng: Prng, min = 6, spread = 14): string {
  const words: string[] = [];
  for (let i = 0, n = min + rng.int(spread); i < n; i++) words.push(rng.pick(WORDS));
  return `${words.join(' ')}.`;
}
