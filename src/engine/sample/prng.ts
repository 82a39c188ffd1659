/** xorshift128 on 32-bit words: fast and deterministic, so a seed always gives the same home. Not for secrets. */
export class Prng {
  private state: Uint32Array;

  constructor(seed: number) {
    this.state = new Uint32Array([seed ^ 0x12345678, 0x9e3779b9, 0x7f4a7c15 ^ seed, 0x2545f491]);
    for (let i = 0; i < 8; i++) this.next();
  }

  /** Uniform integer in [0, 2^32). */
  next(): number {
    const s = this.state;
    let t = s[3]!;
    const x = s[0]!;
    s[3] = s[2]!;
    s[2] = s[1]!;
    s[1] = x;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = (t ^ x ^ (x >>> 19)) >>> 0;
    return s[0]!;
  }

  float(): number {
    return this.next() / 4294967296;
  }

  int(max: number): number {
    return Math.floor(this.float() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}
