/**
 * The block kinds by name. The builtin kinds register here; a library user's kind registers
 * with `registerBlockKind` and can then appear in any NetworkSpec.
 */
import { InputError } from '../../util/errors.js';
import { bnReluKind } from './bnRelu.js';
import { cellKind } from './cell.js';
import { convBnKind } from './convBn.js';
import { identityDownsampleKind } from './identityDownsample.js';
import { invertedResidualKind } from './invertedResidual.js';
import type { BlockKind, BlockSpec } from './kind.js';
import { reductionKind } from './reduction.js';

const KINDS = new Map<string, BlockKind>();

/** Adds a kind; a name already registered is refused (kinds are never replaced silently). */
export function registerBlockKind<S extends BlockSpec>(kind: BlockKind<S>): void {
  if (KINDS.has(kind.name)) throw new InputError(`a block kind named '${kind.name}' is already registered: give yours another name`);
  KINDS.set(kind.name, kind as unknown as BlockKind);
}

/** The kind registered as `name`. */
export function blockKind(name: string): BlockKind {
  const kind = KINDS.get(name);
  if (!kind) throw new InputError(`unknown block kind '${name}': register it with registerBlockKind first (known: ${[...KINDS.keys()].join(', ')})`);
  return kind;
}

/** The kind of a block spec. */
export function kindOf(block: BlockSpec): BlockKind {
  return blockKind(block.kind);
}

for (const kind of [convBnKind, bnReluKind, cellKind, reductionKind, invertedResidualKind, identityDownsampleKind] as BlockKind[]) registerBlockKind(kind);

/** The names of the registered kinds, builtins first. */
export function blockKindNames(): string[] {
  return [...KINDS.keys()];
}
