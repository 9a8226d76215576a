/**
 * Stochastic gradient descent with Nesterov momentum and L2 weight decay, step for step as
 * `torch.optim.SGD(params, lr, momentum, weight_decay=wd, nesterov=True)` (dampening 0):
 *
 *   d   = g + wd·p
 *   buf = d                       on the first step
 *   buf = momentum·buf + d        afterwards
 *   d   = d + momentum·buf        (Nesterov)
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
}

/**
 * One step on one parameter, in place: `param` and `buf` (the momentum buffer) are updated.
 * `first` marks the first step of the run, when PyTorch creates the buffer as a copy of d.
 */
export function sgdNesterovStep(
  param: Float32Array, grad: Float32Array, buf: Float32Array, s: SgdSettings, first: boolean,
): void {
  if (param.length !== grad.length || param.length !== buf.length) {
    throw new Error(`sgdNesterovStep: lengths differ (param ${param.length}, grad ${grad.length}, buffer ${buf.length})`);
  }
  const f = Math.fround;
  const lr = f(s.lr);
  const m = f(s.momentum);
  const wd = f(s.weightDecay);
  for (let i = 0; i < param.length; i++) {
    const d = f(grad[i] + wd * param[i]);
    const b = first ? d : f(f(m * buf[i]) + d);
    buf[i] = b;
    param[i] = f(param[i] - lr * f(d + m * b));
  }
}
