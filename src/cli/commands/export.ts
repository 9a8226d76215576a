import path from 'node:path';
import { Option, type Command } from 'commander';
import { exportModel } from '../../export/index.js';
import { loadTrainedRun, stoppedAt } from '../../train/index.js';
import { escapeUnprintable } from '../../util/errors.js';
import { plainText } from '../options.js';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('export a training run\'s network: RUN/model/ (TensorFlow.js), RUN/model.onnx, labels.json, preprocess.json')
    .addOption(new Option('--run <run>', 'run folder of `mfnas train` (reads its checkpoint)')
      .makeOptionMandatory().argParser(plainText('--run', 4096, 'a folder path')))
    .option('--allow-partial', 'export an interrupted run as it is (refused otherwise: its training did not finish)')
    .option('--json', 'print { run, files, partial, epochs_done, epochs, step }')
    .action(async (opts: { run: string; allowPartial?: boolean; json?: boolean }) => {
      const run = await loadTrainedRun(opts.run, { allowPartial: !!opts.allowPartial });
      const result = await exportModel(run.network, opts.run);
      const files = result.files.map((f) => path.join(opts.run, f));
      if (opts.json) {
        process.stdout.write(JSON.stringify({
          run: opts.run, files, partial: run.partial, epochs_done: run.epochsDone, epochs: run.epochs, step: run.step,
        }) + '\n');
        return;
      }
      if (run.partial) process.stderr.write(`mfnas: note: exported an interrupted run, stopped ${stoppedAt(run)}\n`);
      process.stdout.write(files.map((f) => `wrote ${escapeUnprintable(f)}\n`).join(''));
    });
}
