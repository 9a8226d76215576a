import path from 'node:path';
import { Option, type Command } from 'commander';
import { exportModel } from '../../export/index.js';
import { loadTrainedNetwork } from '../../train/index.js';
import { plainText } from '../options.js';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('export a training run\'s network: RUN/model/ (TensorFlow.js), RUN/model.onnx, labels.json, preprocess.json')
    .addOption(new Option('--run <run>', 'run folder of `mfnas train` (reads its checkpoint)')
      .makeOptionMandatory().argParser(plainText('--run', 4096, 'a folder path')))
    .option('--json', 'print { run, files }')
    .action(async (opts: { run: string; json?: boolean }) => {
      const result = await exportModel(await loadTrainedNetwork(opts.run), opts.run);
      const files = result.files.map((f) => path.join(opts.run, f));
      process.stdout.write(opts.json ? JSON.stringify({ run: opts.run, files }) + '\n' : files.map((f) => `wrote ${f}\n`).join(''));
    });
}
