/**
 * npm run bench:queue — what the job queue costs on one machine: a 40-cell TSS `correlate`
 * (CIFAR-10, 2 x 128 images, correlate's default proxies, no cache) scored through the local
 * worker-thread pool (2 threads) and through BullMQ with two `mfnas worker` processes
 * (--concurrency 1 each) on a redis-server started here on a free loopback port. Rounds
 * alternate local and queue on other cells (seed = round), so machine load hits both alike.
 * Both paths must give the same scores; the queue's overhead is its extra wall time.
 *
 * The workers are started (and their engine loaded) before the first round, as long-running
 * workers are; each queue round still includes the workers' loading of the round's data.
 * Flags: --n 40 --rounds 2 --batch 128 --dataset cifar10 --workers 2; BENCH_VERBOSE=1 shows the workers' job lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDatasetName } from '../../src/datasets/registry.js';
import { DEFAULT_PROXIES, type ProxyName } from '../../src/proxies/registry.js';
import { openScoringSession } from '../../src/scoring/session.js';
import { correlate, requireTable, sampleIndices, spaceSize } from '../../src/study/correlate.js';
import { openDefaultNatsBenchTables } from '../../src/natsbench/tables.js';
import { startRedis } from '../../test/helpers/redisServer.js';
import { printTable } from '../common.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '2' },
    batch: { type: 'string', default: '128' },
    dataset: { type: 'string', default: 'cifar10' },
    workers: { type: 'string', default: '2' },
  },
});
const N = Number(values.n), ROUNDS = Number(values.rounds), BATCH = Number(values.batch), WORKERS = Number(values.workers);
const DATASET = parseDatasetName(values.dataset!);
const PROXIES: ProxyName[] = [...DEFAULT_PROXIES, 'zico', 'params'];
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Resolves once `pattern` is in the child's stderr. */
function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  let text = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (pattern.test(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${text.slice(-500)}`)));
  });
}

async function main(): Promise<void> {
  const benchmark = requireTable('tss', openDefaultNatsBenchTables());
  const size = spaceSize('tss', benchmark);
  const redis = await startRedis();
  const url = redis.url;
  const workers = Array.from({ length: WORKERS }, () => spawn(process.execPath,
    ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'worker', '--queue', url, '--concurrency', '1', ...(process.env.BENCH_VERBOSE ? ['--verbose'] : [])],
    { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] }));
  try {
    await Promise.all(workers.map((w, i) => waitFor(w, /ready: queue/, `worker ${i + 1}`)));
    if (process.env.BENCH_VERBOSE) workers.forEach((w, i) => w.stderr!.on('data', (d: string) => process.stderr.write(`[w${i + 1} ${(performance.now() / 1000).toFixed(1)}] ${d}`)));
    console.log(`TSS / ${DATASET}, ${N} cells per round, ${BATCH} x 2 images, proxies ${PROXIES.join(',')}; ` +
      `local pool of ${WORKERS} threads vs ${WORKERS} queue workers (concurrency 1 each) on ${url}\n`);
    const rows: Array<Array<string | number>> = [];
    let localTotal = 0, queueTotal = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const indices = sampleIndices('tss', N, round, size);
      const run = async (queue?: string) => {
        const t0 = performance.now();
        const session = await openScoringSession({
          space: 'tss', dataset: DATASET, batch: BATCH, batches: 2, cache: false, workers: WORKERS, queue,
        });
        try {
          const result = await correlate({ scorer: session.scorer, benchmark, indices, proxies: PROXIES });
          return { seconds: (performance.now() - t0) / 1000, result };
        } finally {
          await session.close();
        }
      };
      const local = await run();
      const queued = await run(url);
      for (let i = 0; i < N; i++) {
        for (const p of PROXIES) {
          const a = local.result.rows[i].scores[p], b = queued.result.rows[i].scores[p];
          if (!Object.is(a, b)) throw new Error(`round ${round}: ${p} of index ${indices[i]} differs: local ${a}, queue ${b}`);
        }
      }
      localTotal += local.seconds;
      queueTotal += queued.seconds;
      rows.push([`round ${round + 1} (seed ${round})`, local.seconds, queued.seconds, `${((queued.seconds / local.seconds - 1) * 100).toFixed(1)} %`]);
    }
    rows.push(['all rounds', localTotal, queueTotal, `${((queueTotal / localTotal - 1) * 100).toFixed(1)} %`]);
    printTable(['', 'local pool s', 'queue s', 'queue overhead'], rows);
    const overhead = queueTotal / localTotal - 1;
    console.log(`\nscores identical bit for bit in every round; queue overhead ${(overhead * 100).toFixed(1)} % ` +
      `(${overhead <= 0.1 ? 'within' : 'OVER'} the 10 % budget)`);
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
    await redis.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
