/**
 * NAS-Bench-Macro architectures (Su et al., CVPR 2021; xiusu/NAS-Bench-Macro): 8 searchable
 * layers in three stages of 2, 3 and 3 layers, each layer one of `0` identity, `1` inverted
 * residual kernel 3 / expansion 3, `2` inverted residual kernel 5 / expansion 6. The string form
 * is the table's key, the 8 digits in network order; the index is that string read as a base-3
 * number (00000000 = 0, 22222222 = 6560).
 *
 * Classes: within a stage, an identity that is not the stage's first layer computes its input
 * (stride 1, same channels), so it can be dropped; the stage's first layer (stride 2, channels
 * doubled: an identity there is a 1×1 conv + BN) is kept. The canonical form keeps each stage's
 * first layer and packs the stage's other non-identity layers to the front, identities after:
 * 3·3 · 3·7 · 3·7 = 3,969 classes.
 */
import { InputError, quoteInput } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';

/** The 8 layer choices in network order, each 0, 1 or 2. */
export type MacroArch = readonly number[];

/** Layers per stage (the authors' `stages=[2, 3, 3]`). */
export const MACRO_STAGES: readonly number[] = [2, 3, 3];
export const MACRO_POSITIONS = 8;
export const MACRO_CHOICES = 3;
export const MACRO_SIZE = 6561; // 3^8

/** What each choice is: kernel and expansion of the inverted residual (null: identity). */
export const MACRO_OPS: readonly ({ readonly k: number; readonly expansion: number } | null)[] = [
  null, { k: 3, expansion: 3 }, { k: 5, expansion: 6 },
];
export const MACRO_OP_NAMES: readonly string[] = ['id', 'ir_3x3_t3', 'ir_5x5_t6'];

/** Throws InputError unless `arch` is 8 choices in 0..2. */
export function checkMacroArch(arch: MacroArch): void {
  if (!Array.isArray(arch) || arch.length !== MACRO_POSITIONS) {
    throw new InputError(`a macro architecture has ${MACRO_POSITIONS} layers, got ${Array.isArray(arch) ? arch.length : typeof arch}`);
  }
  for (const c of arch) {
    if (!(c === 0 || c === 1 || c === 2)) throw new InputError(`invalid macro layer choice ${String(c)}: use 0 (identity), 1 (k3 e3) or 2 (k5 e6)`);
  }
}

/** Parse the 8-digit string (`22212220`); surrounding whitespace is ignored. */
export function parseMacroArch(text: string): MacroArch {
  const t = text.trim();
  if (!/^[012]{8}$/.test(t)) {
    throw new InputError(
      `malformed macro architecture ${quoteInput(text, { max: 40 })}: expected 8 digits, each 0 (identity), 1 (k3 e3) or 2 (k5 e6), such as 22212220`,
    );
  }
  return [...t].map(Number);
}

export function formatMacroArch(arch: MacroArch): string {
  checkMacroArch(arch);
  return arch.join('');
}

export function macroIndexOf(arch: MacroArch): number {
  checkMacroArch(arch);
  let index = 0;
  for (const c of arch) index = index * 3 + c;
  return index;
}

export function macroFromIndex(index: number): MacroArch {
  if (!Number.isInteger(index) || index < 0 || index >= MACRO_SIZE) {
    throw new InputError(`index ${index} is out of range 0..${MACRO_SIZE - 1} for macro`);
  }
  const out: number[] = new Array(MACRO_POSITIONS);
  for (let p = MACRO_POSITIONS - 1; p >= 0; p--) {
    out[p] = index % 3;
    index = Math.floor(index / 3);
  }
  return out;
}

/** The class's representative: each stage's first layer kept, its other non-identities packed to the front. */
export function macroRepresentative(arch: MacroArch): MacroArch {
  checkMacroArch(arch);
  const out: number[] = [];
  let p = 0;
  for (const n of MACRO_STAGES) {
    const stage = arch.slice(p, p + n);
    const rest = stage.slice(1).filter((c) => c !== 0);
    out.push(stage[0], ...rest, ...new Array<number>(n - 1 - rest.length).fill(0));
    p += n;
  }
  return out;
}

export function macroCanonical(arch: MacroArch): string {
  return macroRepresentative(arch).join('');
}

/** Uniform over the 6,561 architectures. */
export function sampleMacroArch(rng: Rng): MacroArch {
  return Array.from({ length: MACRO_POSITIONS }, () => rng.int(MACRO_CHOICES));
}

/** One of the 8 positions (uniform) changes to one of the 2 other choices (uniform). */
export function mutateMacroArch(arch: MacroArch, rng: Rng): MacroArch {
  checkMacroArch(arch);
  const pos = rng.int(MACRO_POSITIONS);
  let c = rng.int(MACRO_CHOICES - 1);
  if (c >= arch[pos]) c++;
  const out = arch.slice();
  out[pos] = c;
  return out;
}

/** Uniform crossover: each position from parent a or b with probability 0.5. */
export function crossoverMacroArch(a: MacroArch, b: MacroArch, rng: Rng): MacroArch {
  checkMacroArch(a);
  checkMacroArch(b);
  return a.map((c, p) => (rng.bernoulli(0.5) ? c : b[p]));
}
