/**
 * The registry of search spaces. Adding a space is a folder exporting one `SpaceDescription`
 * (see types.ts and ./tss, ./sss) and one `registerSpace` call; a library user registers their
 * own the same way. The rest of mfnas looks spaces up here by name and never switches on it.
 */
import { InputError, quoteInput } from '../util/errors.js';
import { completeSpace } from './complete.js';
import { macroDescription } from './macro/index.js';
import { sssDescription } from './sss/index.js';
import { tssDescription } from './tss/index.js';
import { checkIndexRange, type SearchSpace, type SpaceDefinition, type SpaceDescription, type SpaceName } from './types.js';

export { completeSpace } from './complete.js';
export { tss, tssDescription, tssSpace, type TssIndexSource } from './tss/index.js';
export { sss, sssDescription, sssSpace } from './sss/index.js';
export { macro, macroDescription } from './macro/index.js';
export type {
  BenchmarkTables, BenchTable, BuiltinSpaceName, SearchSpace, SpaceDefinition, SpaceDescription, SpaceIndex, SpaceName,
} from './types.js';

const registry = new Map<string, SpaceDefinition<unknown>>();

/**
 * Adds a space under its name and aliases (case-insensitive). Throws an InputError when the name
 * or an alias is already taken, by a builtin or an earlier registration.
 */
export function registerSpace<A>(description: SpaceDescription<A>): SpaceDefinition<A> {
  const names = [description.name, ...(description.aliases ?? [])].map((n) => String(n).trim().toLowerCase());
  for (const n of names) {
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(n)) {
      throw new InputError(`space name ${quoteInput(n)} is not a name: use letters, digits, '-' and '_'`);
    }
    const owner = [...registry.values()].find((s) => s.name === n || s.aliases.includes(n));
    if (owner || names.indexOf(n) !== names.lastIndexOf(n)) {
      throw new InputError(`space name '${n}' is already taken${owner ? ` by the ${owner.name} space` : ''}: choose another name`);
    }
  }
  const definition = completeSpace({ ...description, name: names[0], aliases: names.slice(1) });
  registry.set(definition.name, definition as SpaceDefinition<unknown>);
  return definition;
}

registerSpace(tssDescription(null));
registerSpace(sssDescription);
registerSpace(macroDescription);
/** The spaces every mfnas process has: worker threads and queue workers know these alone. */
const BUILTIN_SPACES: ReadonlySet<string> = new Set(registry.keys());

/** Whether `name` is one of mfnas's own spaces, known in every thread and on every queue worker. */
export function isBuiltinSpace(name: string): boolean {
  return BUILTIN_SPACES.has(name);
}

/** The names of the registered spaces, builtins first. */
export function spaceNames(): SpaceName[] {
  return [...registry.keys()];
}

/** The definition of a registered space. Throws an InputError naming the choices otherwise. */
export function spaceByName(name: SpaceName): SpaceDefinition<unknown> {
  const s = registry.get(name);
  if (!s) throw new InputError(`unknown search space ${quoteInput(String(name))}: use ${spaceChoices()}`);
  return s;
}

/** Whether `name` is a registered space's name (not an alias). */
export function isSpaceName(name: string): boolean {
  return registry.has(name);
}

function spaceChoices(): string {
  const choices = [...registry.values()].map((s) => (s.aliases.length ? `${s.name} (${s.aliases.join(', ')})` : s.name));
  return choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}` : choices[0];
}

/** A space name or alias, case-insensitive ('tss' / 'topology', 'sss' / 'size'). */
export function parseSpaceName(text: string): SpaceName {
  const key = text.trim().toLowerCase();
  for (const s of registry.values()) {
    if (s.name === key || s.aliases.includes(key)) return s.name;
  }
  throw new InputError(`unknown search space ${quoteInput(text)}: use ${spaceChoices()}`);
}

/**
 * An architecture given as its string form or as a benchmark index (`"9930"`). A text the space
 * parses is its string form even if it is all digits; otherwise digits are an index (for a
 * space that has one). Throws InputError for malformed strings and out-of-range indices.
 */
export function parseArchitecture<A>(space: SearchSpace<A> & Pick<SpaceDefinition<A>, 'size' | 'fromIndex'>, text: string): A {
  const t = text.trim();
  let parsed: { arch: A } | { error: unknown };
  try {
    parsed = { arch: space.parse(t) };
  } catch (e) {
    parsed = { error: e };
  }
  if ('arch' in parsed) return parsed.arch;
  if (space.size !== null && /^[+-]?\d+$/.test(t)) {
    const index = Number(t);
    checkIndexRange(index, space.size, space.name);
    return space.fromIndex(index);
  }
  const e = parsed.error;
  if (e instanceof InputError && space.size !== null) {
    throw new InputError(`${e.message} (or give a benchmark index 0..${space.size - 1})`);
  }
  throw e;
}
