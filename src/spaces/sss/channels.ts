/**
 * SSS channel configurations, MFNAS.md §1: 5 channel counts `c1:c2:c3:c4:c5`,
 * each in {8, 16, …, 64}. Index = the base-8 number whose digits are c/8 − 1, most significant
 * first (`8:8:8:8:8` = 0, `8:8:8:8:16` = 1, `64:64:64:64:64` = 32767). Every configuration is
 * its own class, so the canonical key is the channel string itself.
 */
import { InputError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';

/** An SSS configuration: 5 channel counts, each in {8, 16, …, 64}. */
export type SssChannels = readonly number[];
export const SSS_CHOICES = [8, 16, 24, 32, 40, 48, 56, 64] as const;

export const SSS_POSITIONS = 5;
export const SSS_SIZE = 32_768; // 8^5

const CHOICE_LIST = SSS_CHOICES.join(', ');

function isChoice(c: number): boolean {
  return Number.isInteger(c) && c >= 8 && c <= 64 && c % 8 === 0;
}

/** Parse `c1:c2:c3:c4:c5`; surrounding whitespace (also around numbers) is ignored. */
export function parseSssChannels(text: string): SssChannels {
  const parts = text.trim().split(':');
  if (parts.length !== SSS_POSITIONS) {
    throw new InputError(
      `malformed SSS channel string '${text}': expected 5 ':'-separated channel counts such as 64:64:56:64:24, found ${parts.length}`,
    );
  }
  return parts.map((p, i) => {
    const t = p.trim();
    const c = /^\d+$/.test(t) ? Number(t) : NaN;
    if (!isChoice(c)) {
      throw new InputError(
        `malformed SSS channel string '${text}': position ${i + 1} is '${t}', each channel count must be one of ${CHOICE_LIST}`,
      );
    }
    return c;
  });
}

/** Throws InputError unless `ch` is 5 valid channel counts. */
export function checkChannels(ch: SssChannels): void {
  if (ch.length !== SSS_POSITIONS) {
    throw new InputError(`an SSS configuration has ${SSS_POSITIONS} channel counts, got ${ch.length}`);
  }
  for (const c of ch) {
    if (!isChoice(c)) throw new InputError(`invalid SSS channel count ${c}: use one of ${CHOICE_LIST}`);
  }
}

export function formatSssChannels(ch: SssChannels): string {
  checkChannels(ch);
  return ch.join(':');
}

export function sssIndexOf(ch: SssChannels): number {
  checkChannels(ch);
  let index = 0;
  for (const c of ch) index = index * 8 + (c / 8 - 1);
  return index;
}

export function sssFromIndex(index: number): SssChannels {
  if (!Number.isInteger(index) || index < 0 || index >= SSS_SIZE) {
    throw new InputError(`index ${index} is out of range 0..${SSS_SIZE - 1} for sss`);
  }
  const ch: number[] = new Array(SSS_POSITIONS);
  for (let p = SSS_POSITIONS - 1; p >= 0; p--) {
    ch[p] = ((index % 8) + 1) * 8;
    index = Math.floor(index / 8);
  }
  return ch;
}

/** Uniform over the 32,768 configurations. */
export function sampleSssChannels(rng: Rng): SssChannels {
  return Array.from({ length: SSS_POSITIONS }, () => SSS_CHOICES[rng.int(SSS_CHOICES.length)]);
}

/** One of the 5 positions (uniform) changes to one of the 7 other values (uniform). */
export function mutateSssChannels(ch: SssChannels, rng: Rng): SssChannels {
  checkChannels(ch);
  const pos = rng.int(SSS_POSITIONS);
  const current = ch[pos] / 8 - 1;
  let k = rng.int(SSS_CHOICES.length - 1);
  if (k >= current) k++;
  const out = ch.slice();
  out[pos] = SSS_CHOICES[k];
  return out;
}

/** Uniform crossover: each position from parent a or b with probability 0.5. */
export function crossoverSssChannels(a: SssChannels, b: SssChannels, rng: Rng): SssChannels {
  checkChannels(a);
  checkChannels(b);
  return a.map((c, p) => (rng.bernoulli(0.5) ? c : b[p]));
}
