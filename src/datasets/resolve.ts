/**
 * "A dataset" as a user gives it — a NATS-Bench name or a path to an image folder — turned into
 * the dataset value everything downstream takes.
 */
import fs from 'node:fs';
import { InputError, quoteInput, quotePath } from '../util/errors.js';
import { DEFAULT_IMAGE_SIZE, openImageFolder, type ImageFolderOptions } from './imageFolder/index.js';
import { DATASET_NAMES, datasetInfo, datasetRef, isFolderDataset, parseDatasetName, type Dataset, type DatasetRef } from './registry.js';

export interface ResolveDatasetOptions extends ImageFolderOptions {
  /**
   * The image size asked for. For a folder it is the size images are resized to (default 32);
   * for a builtin it must equal the builtin's resolution (its images are not resized).
   */
  readonly imageSize?: number;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * A builtin dataset's name (any spelling `parseDatasetName` accepts) → its info; the path of an
 * existing folder → the folder dataset (`openImageFolder`: decoded or read from the cache); a
 * dataset value → itself. A builtin's name wins over a folder of that name in the working
 * folder: write ./cifar10 for the folder. Anything else is an InputError naming both options.
 */
export async function resolveDataset(input: string | DatasetRef, options: ResolveDatasetOptions = {}): Promise<Dataset> {
  if (typeof input === 'object' && input !== null) {
    if (isFolderDataset(input)) return input;
    return checkBuiltinSize(datasetInfo(input), options.imageSize);
  }
  const text = String(input);
  let builtin: Dataset | null = null;
  try {
    builtin = datasetInfo(parseDatasetName(text));
  } catch {
    // not a builtin name: a folder, or an error below
  }
  if (builtin) return checkBuiltinSize(builtin, options.imageSize);
  if (text.trim() !== '' && isDirectory(text)) {
    return openImageFolder(text, { ...options, imageSize: options.imageSize ?? DEFAULT_IMAGE_SIZE });
  }
  const looksLikePath = /[/\\.]/.test(text) || fs.existsSync(text);
  const what = looksLikePath
    ? (fs.existsSync(text) ? `${quotePath(text)} is not a folder` : `there is no folder ${quotePath(text)}`)
    : `unknown dataset ${quoteInput(text)}`;
  throw new InputError(`${what}: give one of ${DATASET_NAMES.join(', ')}, or the path of an image folder ` +
    '(DIR/train/<class>/*.png|jpg|jpeg)');
}

function checkBuiltinSize(info: Dataset, imageSize: number | undefined): Dataset {
  if (imageSize !== undefined && imageSize !== info.resolution) {
    throw new InputError(`--image-size ${quoteInput(String(imageSize))} applies to image folders; ` +
      `${info.name} is ${info.resolution}x${info.resolution}: leave --image-size out`);
  }
  return info;
}

/** `resolveDataset` for callers that want the canonical reference (a builtin as its name). */
export async function resolveDatasetRef(input: string | DatasetRef, options: ResolveDatasetOptions = {}): Promise<DatasetRef> {
  return datasetRef(await resolveDataset(input, options));
}
