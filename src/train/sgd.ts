/**
 * Stochastic gradient descent with momentum and L2 weight decay, step for step as
 * `torch.optim.SGD(params, lr, momentum, weight_decay=wd, nesterov=…)` (dampening 0):
 *
 *   d   = g + wd·p
 *   buf = d                       on the first step
 *   buf = momentum·buf + d        afterwards
 *   d   = d + momentum·buf        (Nesterov; plain momentum: d = buf)
 *   p   = p − lr·d
 *
 * in float32 (each line rounded to float32, constants as float32, as PyTorch applies them to
 * float tensors). PyTorch fuses a·x + y into one rounding on CPUs with FMA; here the product is
 * exact in double and the sum rounds twice, which differs from it in the last bit at most, and
 * only rarely.
 */
export interface SgdSettings {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** Default true (NATS-Bench's); false is PyTorch's plain momentum (NAS-Bench-Macro's). */
  readonly nesterov?: boolean;
}

/**
 * One step on one parameter, in place: `param` and `buf` (the momentum buffer) are updated.
 * `first` marks the first step of the run, when PyTorch creates the buffer as a copy of d.
 */
export function sgdStep(
  param: Float32Array, grad: Float32Array, buf: Float32Array, s: SgdSettings, first: boolean,
): void {
  if (param.length !== grad.length || param.length !== buf.length) {
    throw new Error(`sgdStep: lengths differ (param ${param.length}, grad ${grad.length}, buffer ${buf.length})`);
  }
  const f = Math.fround;
  const lr = f(s.lr);
  const m = f(s.momentum);
  const wd = f(s.weightDecay);
  if (s.nesterov ?? true) {
    for (let i = 0; i < param.length; i++) {
      const d = f(grad[i] + wd * param[i]);
      const b = first ? d : f(f(m * buf[i]) + d);
      buf[i] = b;
      param[i] = f(param[i] - lr * f(d + m * b));
    }
  } else {
    for (let i = 0; i < param.length; i++) {
      const d = f(grad[i] + wd * param[i]);
      const b = first ? d : f(f(m * buf[i]) + d);
      buf[i] = b;
      param[i] = f(param[i] - lr * b);
    }
  }
}

/** `sgdStep` with Nesterov momentum (NATS-Bench's optimizer). */
export function sgdNesterovStep(
  param: Float32Array, grad: Float32Array, buf: Float32Array, s: SgdSettings, first: boolean,
): void {
  sgdStep(param, grad, buf, { ...s, nesterov: true }, first);
}
