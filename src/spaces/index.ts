/**
 * The registry of search spaces. Adding a space is a folder exporting one `SpaceDefinition`
 * (see types.ts and ./tss, ./sss) and one line in `SPACES`; the rest of mfnas looks spaces up
 * here by name and never switches on it.
 */
import { InputError } from '../util/errors.js';
import { sss } from './sss/index.js';
import { tss } from './tss/index.js';
import { checkIndexRange, type SearchSpace, type SpaceName } from './types.js';

export { tss, tssSpace, type TssIndexSource } from './tss/index.js';
export { sss, sssSpace } from './sss/index.js';
export type { ArchDrawing, BenchTable, SearchSpace, SpaceDefinition, SpaceName } from './types.js';

export const SPACES = { tss, sss } as const;

/** The definition of a registered space (`SpaceDefinition<unknown>` when the name is not a literal). */
export function spaceByName<N extends SpaceName>(name: N): (typeof SPACES)[N] {
  if (!Object.hasOwn(SPACES, name)) throw new InputError(`unknown search space '${String(name)}': use ${spaceChoices()}`);
  return SPACES[name];
}

function spaceChoices(): string {
  const choices = Object.values(SPACES).map((s) => (s.aliases.length ? `${s.name} (${s.aliases.join(', ')})` : s.name));
  return choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}` : choices[0];
}

/** A space name or alias, case-insensitive ('tss' / 'topology', 'sss' / 'size'). */
export function parseSpaceName(text: string): SpaceName {
  const key = text.trim().toLowerCase();
  for (const s of Object.values(SPACES)) {
    if (s.name === key || s.aliases.includes(key)) return s.name;
  }
  throw new InputError(`unknown search space '${text}': use ${spaceChoices()}`);
}

/**
 * An architecture given as its string form or as a NATS-Bench index (`"9930"`).
 * Throws InputError for malformed strings and out-of-range indices.
 */
export function parseArchitecture<A>(space: SearchSpace<A>, text: string): A {
  const t = text.trim();
  if (/^[+-]?\d+$/.test(t)) {
    const index = Number(t);
    checkIndexRange(index, space.size, space.name);
    return space.fromIndex(index);
  }
  try {
    return space.parse(t);
  } catch (e) {
    if (e instanceof InputError) {
      throw new InputError(`${e.message} (or give a NATS-Bench index 0..${space.size - 1})`);
    }
    throw e;
  }
}
