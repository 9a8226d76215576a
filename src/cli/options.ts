/** Flag parsing shared by the commands: each turns bad text into a one-line InputError. */
import { Option } from 'commander';
import { parseDatasetName, type DatasetName } from '../datasets/registry.js';
import { parseSpaceName } from '../spaces/index.js';
import type { SpaceName } from '../spaces/types.js';
import { InputError } from '../util/errors.js';

export const spaceOption = () =>
  new Option('--space <space>', 'search space: tss (topology) or sss (size)').default('tss').argParser(parseSpaceName);

export const datasetOption = () =>
  new Option('--dataset <dataset>', 'cifar10, cifar100 or ImageNet16-120').default('cifar10').argParser(parseDatasetName);

export function parseIntFlag(name: string, { min = -Infinity } = {}) {
  return (text: string): number => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < min) throw new InputError(`--${name} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got '${text}'`);
    return v;
  };
}

export function parseNumberFlag(name: string) {
  return (text: string): number => {
    const v = Number(text);
    if (!Number.isFinite(v)) throw new InputError(`--${name} must be a number, got '${text}'`);
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
