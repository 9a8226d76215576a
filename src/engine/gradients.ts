/**
 * Reverse-mode gradients that free memory while the backward pass walks the tape.
 *
 * `tf.engine().gradients` keeps, until the whole backward pass ends, every tensor saved for a
 * gradient and the gradient of every intermediate activation (tfjs's backprop never disposes an
 * accumulated gradient once it is consumed, nor the summands it adds up at a fan-out). On the
 * networks mfnas trains that roughly doubles the peak memory of a step: the activations the
 * backward pass needs plus one gradient per activation, all at once.
 *
 * `gradients()` runs the same tfjs machinery (same tape, same gradient functions, same order of
 * accumulation, so every result is bit-for-bit the one tfjs computes) and only adds disposal:
 * once a node's gradients have been accumulated into its inputs, the node's saved tensors, the
 * gradient of its outputs and the summands already added are released.
 */
import * as tf from '@tensorflow/tfjs';

type Tensor = tf.Tensor;
type GradThunks = Record<string, () => Tensor>;

/** The parts of tfjs's tape node that this module relies on (tfjs-core 4.x engine internals). */
interface TapeNode {
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  saved?: Tensor[];
  gradient?: (dys: Tensor[]) => GradThunks;
}

interface EngineInternals {
  state: { gradientDepth: number; activeTape: TapeNode[] | null };
}

/** The value of `f()` and the gradients of it with respect to `xs` (see tf.engine().gradients). */
export interface GradientsResult<T extends Tensor = Tensor> {
  value: T;
  grads: Tensor[];
}

/**
 * `tf.engine().gradients(f, xs, dy, allowNoGradients)` with the memory of the backward pass
 * released as it goes (see the module comment). Nested inside another gradient computation
 * (higher-order gradients need the saved tensors twice) it is exactly tfjs's.
 */
export function gradients<T extends Tensor>(
  f: () => T, xs: Tensor[], dy?: Tensor, allowNoGradients = false,
): GradientsResult<T> {
  const engine = tf.engine() as unknown as EngineInternals;
  const outermost = engine.state.gradientDepth === 0;
  const keep = new Set(xs.map((x) => x.id));
  const recorded = (): T => {
    const y = f();
    // The tape is complete here (the backward pass has not started): wrap its nodes.
    const tape = engine.state.activeTape;
    if (outermost && tape) releaseAsBackpropGoes(tape, keep);
    return y;
  };
  // The class's method, not the instance's: immune to anything that wraps the instance's.
  const e = tf.engine();
  const tfGradients = Object.getPrototypeOf(e).gradients as typeof e.gradients;
  const r = tfGradients.call(e, recorded, xs, dy, allowNoGradients);
  return { value: r.value as T, grads: r.grads };
}

/**
 * Wraps every node's gradient so that when the backward pass reaches the next node, what the
 * previous one held is released. tfjs's backprop calls a node's gradient, then each input's
 * thunk, accumulating the result right away (`acc[x] = dx` the first time, else
 * `acc[x] = add(acc[x], dx)` and the old sum disposed), then moves on; so at the next node:
 *  - the previous node's saved tensors have been read for the last time;
 *  - the gradients of its outputs (`dys`) are never read again (each tensor has one producer),
 *    unless the output is one of the `xs`, whose gradients are the result;
 *  - a `dx` that was added to an existing sum is no longer referenced.
 * A thunk that hands back one of the `dys` or saved tensors themselves gets a clone (same data,
 * no copy), so releasing those never frees a gradient still in use.
 */
function releaseAsBackpropGoes(tape: TapeNode[], keep: ReadonlySet<number>): void {
  let release: Tensor[] = [];
  const hasGradient = new Set<number>();
  const flush = (): void => {
    for (const t of release) t.dispose();
    release = [];
  };
  for (const node of tape) {
    const gradient = node.gradient;
    if (!gradient) continue;
    node.gradient = (dys: Tensor[]): GradThunks => {
      flush();
      const thunks = gradient(dys);
      const saved = node.saved ?? [];
      release.push(...saved);
      node.outputs.forEach((o, i) => {
        const d = dys[i];
        if (d && !keep.has(o.id)) release.push(d);
      });
      const wrapped: GradThunks = {};
      for (const name of Object.keys(thunks)) {
        wrapped[name] = () => {
          let dx = thunks[name]();
          if (dys.includes(dx) || saved.includes(dx)) dx = dx.clone();
          const x = node.inputs[name];
          if (x) {
            // A later summand is added to the running sum and then dead; the first one is the sum.
            if (hasGradient.has(x.id)) release.push(dx);
            else hasGradient.add(x.id);
          }
          return dx;
        };
      }
      return wrapped;
    };
  }
}
