/**
 * Completing a space's description into the definition the rest of mfnas uses: the one place
 * where the optional parts of a space (classes, index, list, drawing) get their generic
 * stand-ins, so no caller ever tests which space it has.
 */
import { InputError } from '../util/errors.js';
import { checkIndexRange, type BenchmarkTables, type SpaceDefinition, type SpaceDescription } from './types.js';

/**
 * A description completed into a definition: the one place where the optional parts get their
 * generic stand-ins (each architecture its own class, no index, no list, no drawing).
 */
export function completeSpace<A>(d: SpaceDescription<A>): SpaceDefinition<A> {
  const index = d.index && d.index.available !== false ? d.index : null;
  const noIndex = (): never => {
    throw new InputError(`the ${d.name} space has no architecture numbers: give the architecture's string form`);
  };
  const definition: SpaceDefinition<A> = {
    name: d.name,
    aliases: d.aliases ?? [],
    parse: d.parse,
    format: d.format,
    sample: d.sample,
    mutate: d.mutate,
    crossover: d.crossover,
    networkSpec: d.networkSpec,
    validate: d.validate ?? ((arch) => { d.format(arch); }),
    canonical: d.canonical ?? d.format,
    representative: d.representative ?? ((arch) => arch),
    enumerate: d.enumerate ?? null,
    drawing: d.drawing ?? null,
    trainingRecipe: d.trainingRecipe ?? 'nats-bench',
    // An unavailable index keeps its size and its own explanation of what it needs.
    size: d.index?.size ?? null,
    indexed: index !== null,
    indexOf: d.index?.indexOf ?? noIndex,
    fromIndex: d.index?.fromIndex ?? noIndex,
    table: (tables) => tables?.tableOf(d.name) ?? null,
    withBenchmark: (tables: BenchmarkTables | null | undefined) => (d.withBenchmark ? completeSpace(d.withBenchmark(tables)) : definition),
  };
  return definition;
}


/**
 * The index and the list of a space whose architectures are numbered by arithmetic (a mixed-radix
 * reading of the string): numbers 0..size-1 checked, and every architecture in number order.
 */
export function arithmeticIndex<A>(space: string, size: number, indexOf: (arch: A) => number, fromIndex: (index: number) => A): Pick<SpaceDescription<A>, 'index' | 'enumerate'> {
  return {
    index: {
      size,
      indexOf,
      fromIndex(index) {
        checkIndexRange(index, size, space);
        return fromIndex(index);
      },
    },
    *enumerate() {
      for (let i = 0; i < size; i++) yield fromIndex(i);
    },
  };
}
