import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { buildNetworkSpec, initNetwork, gradientParamNames } from '../src/networks/index.js';
import { lossAndGrads, toTensorParams, liveParamNames } from '../src/networks/model.js';
await initEngine();
const spec = buildNetworkSpec('tss', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', 'cifar10');
const p = toTensorParams(initNetwork(spec, 0));
const names = gradientParamNames(spec);
console.log([...liveParamNames(spec, true)].filter(n => names.includes(n)));
const x = tf.randomNormal([2, 32, 32, 3]) as tf.Tensor4D;
try { const r = lossAndGrads(spec, p, x, Int32Array.from([1, 2]), names, { skipDead: true }); console.log(r.loss); } catch (e) { console.log(String(e).slice(0, 300)); }
for (const only of [['classifier.weight'], ['cells.11.shortcut.weight'], ['stem.conv.weight']]) {
  try { const r = lossAndGrads(spec, p, x, Int32Array.from([1, 2]), only, { skipDead: true }); console.log(only, r.loss); } catch (e) { console.log(only, String(e).slice(0, 100)); }
}
import { forward } from '../src/networks/model.js';
const W = p.get('classifier.weight')!;
try { const g = tf.grad((w: tf.Tensor) => { const q = new Map(p); q.set('classifier.weight', w); return tf.sum(forward(spec, q, x, { skipDead: true })) as tf.Scalar; })(W); console.log('direct ok', g.shape); } catch (e) { console.log('direct', String(e).slice(0, 100)); }
