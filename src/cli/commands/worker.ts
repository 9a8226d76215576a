import { Option, type Command } from 'commander';
import { defaultWorkers } from '../../proxies/poolEvaluator.js';
import { InputError } from '../../util/errors.js';
import { parseIntFlag, parseNumberFlag, plainText, type GlobalOptions } from '../options.js';

/**
 * `--queue URL` (default MFNAS_QUEUE): for the commands that score (scan, correlate, search),
 * evaluations go to `mfnas worker`s through BullMQ on this Redis instead of local threads.
 */
export const queueOption = () =>
  new Option('--queue <url>', 'score on `mfnas worker`s through this Redis: redis://[user:password@]host:port[/db] or rediss:// (default MFNAS_QUEUE)')
    .env('MFNAS_QUEUE')
    .argParser(plainText('--queue', 2000, 'a Redis URL: use redis://[user:password@]host:port[/db]'));

interface WorkerFlags { queue?: string; concurrency?: number; imageRoot: string[]; lockSeconds: number; verbose?: boolean }

const imageRootText = plainText('--image-root', 4096, 'a folder: give the path of a folder holding image-folder datasets');

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('long-running scoring worker: takes jobs from the queue (scan/correlate/search --queue) until SIGTERM')
    .addOption(queueOption())
    .addOption(new Option('--concurrency <n>', `jobs at once, one thread each (default one per core = ${defaultWorkers()})`)
      .argParser(parseIntFlag('concurrency', { min: 1, max: 256 })))
    .addOption(new Option('--image-root <dir>', 'accept image-folder jobs for folders under DIR (repeatable; default none: such jobs are refused)')
      .argParser((text: string, previous: string[]) => [...previous, imageRootText(text)]).default([]))
    .addOption(new Option('--lock-seconds <s>', 'job lock time: a killed worker\'s job is taken up again after one to two of these')
      .default(30).argParser(parseNumberFlag('lock-seconds', { positive: true })))
    .option('--verbose', 'a line per job started and finished (default: a summary every 30 s)')
    .action(async (opts: WorkerFlags, c: Command) => {
      const globals = c.optsWithGlobals() as GlobalOptions;
      if (!opts.queue) throw new InputError('mfnas worker needs the queue: --queue redis://host:port (or MFNAS_QUEUE)');
      if (opts.lockSeconds < 1) throw new InputError(`--lock-seconds must be at least 1, got ${opts.lockSeconds}`);
      const stop = new AbortController();
      // The first SIGTERM/SIGINT lets the current job finish; a second one exits at once.
      const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
        process.stderr.write(`mfnas worker: ${signal}: finishing the current job, then exiting (again to exit now)\n`);
        stop.abort();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        // Loaded here: BullMQ takes half a second to import, which no other command should pay.
        const { runQueueWorker } = await import('../../queue/queueWorker.js');
        await runQueueWorker({
          queue: opts.queue, concurrency: opts.concurrency, dataDir: globals.dataDir, imageRoots: opts.imageRoot,
          lockSeconds: opts.lockSeconds, verbose: !!opts.verbose, signal: stop.signal,
        });
        // The worker has stopped: a handle something left open (a socket, a thread, a file read
        // stuck in the kernel) must not keep the process alive long after it said "stopped".
        setTimeout(() => process.exit(), 5000).unref();
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
}
