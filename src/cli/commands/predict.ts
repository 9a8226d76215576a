import { Option, type Command } from 'commander';
import { predict, type Prediction } from '../../export/index.js';
import { escapeUnprintable } from '../../util/errors.js';
import { parseIntFlag, plainText } from '../options.js';

/**
 * Per image: its path, then one line per class, labels padded to one column, probabilities to 3
 * decimals. Paths and labels (labels.json is anyone's file) are escaped the way error messages
 * are, so an ESC or a newline in them can neither drive the terminal nor fake another line.
 */
export function formatPredictions(predictions: readonly Prediction[]): string {
  const label = (t: { label: string }) => escapeUnprintable(t.label);
  const width = Math.max(0, ...predictions.flatMap((p) => p.top.map((t) => label(t).length)));
  const lines: string[] = [];
  for (const p of predictions) {
    lines.push(escapeUnprintable(p.file));
    for (const t of p.top) lines.push(`  ${label(t).padEnd(width)}  ${t.probability.toFixed(3)}`);
  }
  return lines.join('\n') + '\n';
}

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('classify images with a model written by `mfnas export` (runs RUN/model/model.json)')
    .addOption(new Option('--model <run>', 'run folder of `mfnas export` (model/, labels.json, preprocess.json)')
      .makeOptionMandatory().argParser(plainText('--model', 4096, 'a folder path')))
    .addOption(new Option('--images <files...>', 'PNG or JPEG files').makeOptionMandatory())
    .addOption(new Option('--top <k>', 'classes to print per image').default(5).argParser(parseIntFlag('top', { min: 1, max: 100000 })))
    .option('--json', 'print [{ file, top: [{ label, probability }] }]')
    .action(async (opts: { model: string; images: string[]; top: number; json?: boolean }) => {
      const predictions = await predict({ model: opts.model, images: opts.images, top: opts.top });
      process.stdout.write(opts.json ? JSON.stringify(predictions) + '\n' : formatPredictions(predictions));
    });
}
