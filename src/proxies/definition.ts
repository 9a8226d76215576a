/**
 * What a proxy is to mfnas: its description, the version of its definition, and how it is
 * computed — a pass over the network that proxies of one kind share, then a cheap function of
 * what the pass produced. One file in definitions/ per builtin proxy, listed in registry.ts; a
 * library user writes one the same way and adds it with `registerProxy` (exported by 'mfnas').
 */
import type { Batch } from '../datasets/batches.js';
import type { TensorParams } from '../networks/model.js';
import type { NetworkSpec } from '../networks/spec.js';

/** The network being scored and what every pass may read. */
export interface ProxyInput {
  readonly spec: NetworkSpec;
  /** The proxy batches (ignored by analytic and data-free passes). */
  readonly batches: readonly Batch[];
  /**
   * The run's proxy seed (the initialisation seed). Passes that draw their own randomness
   * (AZ-NAS's noise input) derive their streams from it.
   */
  readonly seed: number;
  /**
   * The seeded initial weights as tensors, made on first call and shared by every pass: a
   * network scored only by analytic proxies never pays for an initialisation. Owned by
   * evaluateProxies, which disposes them; do not dispose or modify them.
   */
  weights(): TensorParams;
}

/**
 * Work several proxies can share, done at most once per network whatever the number of
 * proxies that read it (e.g. one gradient pass per batch feeds intgrad, ZiCo, grad_norm, SNIP).
 * Passes are told apart by identity; the name is for listings.
 */
export interface ProxyPass<Product> {
  readonly name: string;
  run(input: ProxyInput): Product;
}

export interface ProxyDefinition<Name extends string = string, Product = unknown> {
  readonly name: Name;
  readonly paper: string;
  readonly definition: string;
  /**
   * Version of the definition, part of the score-cache key: bump it whenever the proxy's code
   * changes what it computes, so no score of the old definition is ever returned for it.
   */
  readonly version: number;
  /** Fewest proxy batches the definition is meaningful with (a std over batches needs two). */
  readonly minBatches: number;
  readonly pass: ProxyPass<Product>;
  // Method syntax on purpose: its parameter is bivariant, so a definition of any product type
  // fits in the registry's list of ProxyDefinition<ProxyName, unknown>; defineProxy still
  // checks that each compute matches its own pass.
  /**
   * The score (higher is better) from the product of `pass` on this network. The product is
   * shared with every other proxy of the same pass: read it, never modify it.
   */
  compute(product: Product, input: ProxyInput): number;
}

/** Identity, for type inference: keeps `name` a literal and ties `compute` to `pass`. */
export function defineProxy<Name extends string, Product>(definition: ProxyDefinition<Name, Product>): ProxyDefinition<Name, Product> {
  return definition;
}
