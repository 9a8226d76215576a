/** Flag parsing shared by the commands: each turns bad text into a one-line InputError. */
import { Option, type Command } from 'commander';
import { DEFAULT_IMAGE_SIZE, MAX_IMAGE_SIZE } from '../datasets/imageFolder/index.js';
import { parseDatasetName, type Dataset, type DatasetName } from '../datasets/registry.js';
import { resolveDataset } from '../datasets/resolve.js';
import { Progress } from '../util/progress.js';
import { parseSpaceName, spaceNames } from '../spaces/index.js';
import type { SpaceName } from '../spaces/types.js';
import { boundProblem, integerBound, MAX_SEED, positiveBound, type NumberBound } from '../util/bounds.js';
import { parseDecimal, parseDecimalInteger } from '../util/decimal.js';
import { InputError, oneLine, quoteInput } from '../util/errors.js';

/**
 * Free text from the command line before it reaches a parser whose error message echoes it:
 * longer than `max` or with control characters, it is refused here with a short quoted prefix.
 */
export function plainText(flag: string, max: number, what: string): (text: string) => string {
  return (text: string): string => {
    // eslint-disable-next-line no-control-regex
    if (text.length > max || /[\u0000-\u001f\u007f-\u009f]/.test(text)) throw new InputError(`${flag} ${quoteInput(text)} is not ${what}`);
    return text;
  };
}

export const spaceOption = () =>
  new Option('--space <space>', `search space: ${spaceNames().join(', ')}`).default('tss')
    .argParser((t) => parseSpaceName(plainText('--space', 40, `a search space: use ${spaceNames().join(', ')}`)(t)));

export const datasetOption = () =>
  new Option('--dataset <dataset>', 'cifar10, cifar100 or ImageNet16-120').default('cifar10')
    .argParser((t) => parseDatasetName(plainText('--dataset', 40, 'a dataset: use cifar10, cifar100 or ImageNet16-120')(t)));

/**
 * `--dataset` where an image folder is accepted too (score, search, train, predict): the text as
 * given; `resolveDatasetFlags` turns it into a dataset once the command runs (a folder is
 * decoded or read from the cache, which takes time and may fail, so not in the flag parser).
 */
export const datasetOrFolderOption = () =>
  new Option('--dataset <name|dir>', 'cifar10, cifar100, ImageNet16-120, or an image folder DIR (DIR/train/<class>/*.png|jpg|jpeg)')
    .default('cifar10')
    .argParser(plainText('--dataset', 4096, 'a dataset: use cifar10, cifar100, ImageNet16-120 or the path of an image folder'));

export const imageSizeOption = () =>
  new Option('--image-size <n>', `image folders: resize the images to n x n (default ${DEFAULT_IMAGE_SIZE}; a multiple of 4 from 8 to ${MAX_IMAGE_SIZE})`)
    .argParser(parseIntFlag('image-size', { min: 8, max: MAX_IMAGE_SIZE }));

export const skipBadOption = () =>
  new Option('--skip-bad', 'image folders: skip unreadable, corrupt and non-image files (and say how many) instead of failing');

/** `--dataset` (name or folder), `--image-size` and `--skip-bad`. */
export function addDatasetOptions(cmd: Command): Command {
  return cmd.addOption(datasetOrFolderOption()).addOption(imageSizeOption()).addOption(skipBadOption());
}

export interface DatasetFlags {
  dataset: string;
  imageSize?: number;
  skipBad?: boolean;
}

/**
 * The dataset of `addDatasetOptions`' flags: a builtin, or the image folder opened (with a
 * progress bar while decoding, and a one-line notice on stderr of the bad files skipped).
 */
export async function resolveDatasetFlags(flags: DatasetFlags): Promise<Dataset> {
  const progress = new Progress('decode images', { itemName: 'images' });
  let dataset: Dataset;
  try {
    dataset = await resolveDataset(flags.dataset, {
      imageSize: flags.imageSize, skipBad: !!flags.skipBad, onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.finish();
  }
  if (dataset.kind === 'folder' && dataset.skipped > 0) {
    // File names are the user's: oneLine escapes what a terminal would interpret.
    process.stderr.write(`mfnas: ${oneLine(`skipped ${dataset.skipped} bad file${dataset.skipped === 1 ? '' : 's'} in ${dataset.dir} ` +
      `(${dataset.skippedExamples.join('; ')}${dataset.skipped > dataset.skippedExamples.length ? '; …' : ''}); ` +
      `${dataset.counts.train} training images remain`, 400)}\n`);
  }
  return dataset;
}

/** `--arch`: a TSS cell string is under 100 characters, an SSS one under 20. */
export const archText = plainText('--arch', 200, 'an architecture: give a TSS cell string, SSS channels (64:64:56:64:24) or an index');

/** `--proxies a,b` / `--proxy a`: proxy names are short; refuse long or binary text before it is echoed. */
export function proxyListText(flag: string): (text: string) => string {
  const whole = plainText(flag, 400, 'a list of proxy names (see --help)');
  return (text: string) => {
    whole(text);
    for (const item of text.split(',')) plainText(flag, 40, 'a proxy name (see --help)')(item.trim());
    return text;
  };
}

export function parseIntFlag(name: string, { min = -Infinity, max = Number.MAX_SAFE_INTEGER } = {}) {
  return parseBoundedFlag(name, integerBound(min, max));
}

export { MAX_SEED };

export function parseSeedFlag(name: string) {
  return parseIntFlag(name, { min: 0, max: MAX_SEED });
}

/** A finite decimal number; `positive` refuses zero and negative values (budgets, limits), `max` larger ones. */
export function parseNumberFlag(name: string, { positive = false, max = Infinity } = {}) {
  return parseBoundedFlag(name, positive ? positiveBound(max) : { integer: false, min: -Infinity, max });
}

/**
 * A decimal number within `bound` (an integer is written without point or exponent), with the
 * wording the checks of settings read from files use too (src/util/bounds.ts).
 */
export function parseBoundedFlag(name: string, bound: NumberBound) {
  return (text: string): number => {
    const v = bound.integer ? parseDecimalInteger(text) : parseDecimal(text);
    const problem = boundProblem(bound, v);
    if (problem !== null) throw new InputError(`--${name} ${problem}, got ${quoteInput(text)}`);
    return v;
  };
}

export interface GlobalOptions {
  dataDir?: string;
}

export type { SpaceName, DatasetName };

/** Print a result: JSON on one line with --json, else a readable key: value listing. */
export function printResult(value: unknown, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(value) + '\n');
    return;
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      process.stdout.write(`${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}\n`);
    }
  } else {
    process.stdout.write(String(value) + '\n');
  }
}
