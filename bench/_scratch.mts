import { initEngine } from '../src/engine/backend.js';
import { loadImageSet, makeProxyBatches } from '../src/datasets/index.js';
import { buildNetworkSpec } from '../src/networks/index.js';
import { evaluateProxies } from '../src/proxies/evaluate.js';
import { PROXY_NAMES } from '../src/proxies/registry.js';
const info = await initEngine();
console.log(info);
const set = loadImageSet('cifar10');
const bs = Number(process.argv[2] ?? 16);
const batches = makeProxyBatches(set, { batchSize: bs, batches: 2, seed: 0 });
for (const arch of ['|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|']) {
  const t0 = performance.now();
  const s = evaluateProxies(buildNetworkSpec('tss', arch, 'cifar10'), batches, [...PROXY_NAMES], { initSeed: 0 });
  console.log(((performance.now()-t0)/1000).toFixed(2), JSON.stringify(s));
}
