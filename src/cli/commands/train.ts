/**
 * `mfnas train`: trains one architecture with its benchmark's recipe (src/train/recipe.ts). Progress on
 * stderr (epoch, loss, accuracy, time left); the summary, or with --json one object, on stdout.
 * Ctrl-C (or SIGTERM) lets the current step finish, saves the checkpoint and exits with 130;
 * `--resume` continues from it. A second Ctrl-C exits at once (the last checkpoint stays whole).
 */
import { Option, type Command } from 'commander';
import { parseSpaceName, spaceNames } from '../../spaces/index.js';
import { RECIPES, RECIPE_NAMES, recipeByName, TRAIN_DEFAULTS, type RecipeName } from '../../train/recipe.js';
import { stoppedAt, train, TrainingInterrupted, type TrainResult } from '../../train/run.js';
import { escapeUnprintable, oneLine } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { fmtAccuracy, fmtSeconds, keyValues, table } from '../format.js';
import { archText, MAX_SEED, parseIntFlag, parseNumberFlag, parseSeedFlag, plainText, printResult, skipBadOption, type GlobalOptions } from '../options.js';

interface TrainFlags {
  space?: string; recipe?: RecipeName; dataset?: string; arch?: string; out: string; epochs?: number; batch?: number; lr?: number;
  momentum?: number; weightDecay?: number; seed?: number; limit?: number; testLimit?: number; workers?: number;
  resume?: boolean; skipBad?: boolean; json?: boolean;
}

/** The message of a run stopped by Ctrl-C: where it stopped, and how to continue. */
export function interruptedMessage(result: TrainResult): string {
  const where = stoppedAt({ ...result, epochs: result.settings.epochs });
  return `interrupted ${where}; saved ${result.checkpoint}: continue with mfnas train --out ${result.out} --resume`;
}

export function registerTrainCommand(program: Command): void {
  const d = TRAIN_DEFAULTS;
  program
    .command('train')
    .description("train one architecture with its benchmark's recipe (NATS-Bench's for tss and sss, NAS-Bench-Macro's for macro)")
    .addOption(new Option('--space <space>', `search space: ${spaceNames().join(', ')} (default tss)`)
      .argParser((t) => parseSpaceName(plainText('--space', 40, `a search space: use ${spaceNames().join(', ')}`)(t))))
    .addOption(new Option('--arch <arch>', 'architecture string or NATS-Bench index').argParser(archText))
    .addOption(new Option('--dataset <name|DIR>', 'cifar10, cifar100, ImageNet16-120 or an image folder (default cifar10)')
      .argParser(plainText('--dataset', 4096, 'a dataset name or folder')))
    .requiredOption('--out <dir>', 'run folder: metrics.csv, checkpoint.safetensors (must not hold a run unless --resume)')
    .addOption(new Option('--recipe <name>', `training recipe: ${RECIPE_NAMES.map((n) => `${n} (${RECIPES[n].summary.replace(/^[^:]*: /, '')})`).join('; ')}. Default: the space's benchmark's`)
      .argParser((t) => recipeByName(plainText('--recipe', 40, `a recipe: use ${RECIPE_NAMES.join(' or ')}`)(t)).name))
    .addOption(new Option('--epochs <e>', `epochs; the cosine schedule spans them (default the recipe's: ${RECIPE_NAMES.map((n) => `${RECIPES[n].defaults.epochs} for ${n}`).join(', ')})`).argParser(parseIntFlag('epochs', { min: 1, max: 100_000 })))
    .addOption(new Option('--batch <n>', `images per step (default ${d.batch})`).argParser(parseIntFlag('batch', { min: 2, max: 65_536 })))
    .addOption(new Option('--lr <x>', `initial learning rate (default ${d.lr})`).argParser(parseNumberFlag('lr', { positive: true })))
    .addOption(new Option('--momentum <x>', `momentum, Nesterov or plain as the recipe says (default ${d.momentum})`).argParser(parseNumberFlag('momentum')))
    .addOption(new Option('--weight-decay <x>', `L2 weight decay on all parameters (default ${d.weightDecay})`).argParser(parseNumberFlag('weight-decay')))
    .addOption(new Option('--seed <n>', `seed of weights, shuffle and augmentation, 0..${MAX_SEED} (default ${d.seed})`).argParser(parseSeedFlag('seed')))
    .addOption(new Option('--limit <n>', 'train on the first N training images (default all)').argParser(parseIntFlag('limit', { min: 1 })))
    .addOption(new Option('--test-limit <n>', 'evaluate on the first N test images (default all)').argParser(parseIntFlag('test-limit', { min: 1 })))
    .addOption(new Option('--workers <n>', 'threads of the native kernels (default MFNAS_THREADS, else one per core); speed only, never results')
      .argParser(parseIntFlag('workers', { min: 1, max: 1024 })))
    .addOption(skipBadOption())
    .option('--resume', 'continue the run in --out from its checkpoint (flags left out are taken from it)')
    .option('--json', 'print one JSON object')
    .action(async (opts: TrainFlags, c: Command) => {
      const globals = c.optsWithGlobals() as GlobalOptions;
      const progress = new Progress('train', { itemName: 'steps' });
      const controller = new AbortController();
      let signals = 0;
      const onSignal = (): void => {
        signals++;
        if (signals > 1) {
          process.stderr.write('\nmfnas: stopped without saving the current epoch; the last checkpoint is whole (--resume continues from it)\n');
          process.exit(130);
        }
        controller.abort();
        progress.note('stopping after this step and saving (Ctrl-C again to stop at once)');
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let lastTest = '';
      let result: TrainResult;
      try {
        result = await train({
          out: opts.out, arch: opts.arch, space: opts.space, recipe: opts.recipe, dataset: opts.dataset, epochs: opts.epochs, batch: opts.batch,
          lr: opts.lr, momentum: opts.momentum, weightDecay: opts.weightDecay, seed: opts.seed, limit: opts.limit,
          testLimit: opts.testLimit, workers: opts.workers, resume: !!opts.resume, skipBad: opts.skipBad, dataDir: globals.dataDir,
          signal: controller.signal,
          // The rate (and so the time left) counts only the steps run by this process.
          onStart: ({ step, testImages, skipped, skippedExamples }) => {
            if (skipped > 0) {
              // File names are the user's: oneLine escapes what a terminal would interpret.
              process.stderr.write(`mfnas: ${oneLine(`skipped ${skipped} bad file${skipped === 1 ? '' : 's'} (${skippedExamples.join('; ')}` +
                `${skipped > skippedExamples.length ? '; …' : ''})`, 400)}\n`);
            }
            progress.restart(step);
            if (testImages === 0) lastTest = ' · no test split';
          },
          onStep: (p) => {
            const done = p.epoch * p.stepsPerEpoch + p.step + 1;
            if (controller.signal.aborted) return;
            progress.update(done, p.epochs * p.stepsPerEpoch,
              `epoch ${p.epoch + 1}/${p.epochs} · loss ${p.loss.toFixed(3)} · acc ${p.accuracy.toFixed(1)}%${lastTest}`);
          },
          onEpoch: (row) => { if (row.test_acc !== null) lastTest = ` · test ${row.test_acc.toFixed(2)}% (epoch ${row.epoch})`; },
        });
      } finally {
        progress.finish();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (result.interrupted) throw new TrainingInterrupted(interruptedMessage(result));
      const f = result.final!;
      if (opts.json) {
        printResult({
          arch: result.arch, index: result.index, space: result.space, dataset: result.dataset, epochs: result.epochsDone,
          test_acc: f.test_acc, test_loss: f.test_loss, train_acc: f.train_acc, train_loss: f.train_loss,
          benchmark_acc: result.benchmarkAccuracy, seconds: result.seconds, out: result.out, exported: result.exported,
          settings: result.settings, metrics: result.metrics,
        }, true);
        return;
      }
      // The dataset (a folder path) and --out are the user's text: escaped for the terminal.
      const dataset = escapeUnprintable(result.dataset);
      process.stdout.write(keyValues([
        ['arch', result.index === null ? result.arch : `${result.arch} (index ${result.index})`],
        ['trained on', `${result.space.toUpperCase()} / ${dataset}, ${result.epochsDone} epochs, recipe ${result.settings.recipe}`],
      ]) + '\n');
      // The last epochs (all of them for short runs): enough to see the trend without flooding.
      const rows = result.metrics.slice(-10).map((m) => [
        String(m.epoch), m.lr.toPrecision(3), m.train_loss.toFixed(4), fmtAccuracy(m.train_acc), m.test_loss?.toFixed(4) ?? '–',
        fmtAccuracy(m.test_acc), fmtSeconds(m.seconds),
      ]);
      process.stdout.write(table(['epoch', 'lr', 'train loss', 'train acc %', 'test loss', 'test acc %', 'seconds'], rows) + '\n');
      process.stdout.write(keyValues([
        ['test accuracy', f.test_acc === null
          ? `none: no test split (${dataset} has no test/ folder; add DIR/test/<class>/ images to evaluate)`
          : `${fmtAccuracy(f.test_acc)} %` + (result.benchmarkAccuracy != null ? ` (NATS-Bench: ${fmtAccuracy(result.benchmarkAccuracy)} %)` : '')],
        ['time', `${fmtSeconds(result.seconds)} s`],
        ['wrote', `${escapeUnprintable(result.out)}: metrics.csv, checkpoint.safetensors${result.exported?.length ? ', ' + result.exported.join(', ') : ''}`],
      ]));
    });
}
