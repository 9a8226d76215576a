/**
 * Class names of any dataset in label order: a folder dataset carries its class folder names;
 * a builtin's come from the names file that ships beside the CIFAR binaries
 * (`batches.meta.txt`, `fine_label_names.txt`). ImageNet16-120 has none, so its classes (and
 * those of a CIFAR copy without its names file) are named by their number.
 */
import path from 'node:path';
import { readRegularFileSync } from '../util/regularFile.js';
import { requireDataDir, type DataDirOptions } from './dataDir.js';
import { datasetInfo, isFolderDataset, type DatasetName, type DatasetRef } from './registry.js';

/** Relative to the data dir; typed by `DatasetName` so a new builtin has to say whether it has one. */
const NAME_FILES: Readonly<Record<DatasetName, string | null>> = {
  cifar10: 'cifar-10-batches-bin/batches.meta.txt',
  cifar100: 'cifar-100-binary/fine_label_names.txt',
  'ImageNet16-120': null,
};

export interface ClassNamesOptions {
  /** Data directory of the builtins; resolved like `--data-dir` / MFNAS_DATA_DIR when omitted. Unused for a folder. */
  dataDir?: string | null;
  env?: DataDirOptions['env'];
  cwd?: string;
}

/** `class_0` … `class_{n-1}`. */
function numberedClassNames(classes: number): string[] {
  return Array.from({ length: classes }, (_, i) => `class_${i}`);
}

export function classNames(ref: DatasetRef, opt: ClassNamesOptions = {}): string[] {
  if (isFolderDataset(ref)) return [...ref.classNames];
  const info = datasetInfo(typeof ref === 'string' ? ref : ref.name);
  const rel = NAME_FILES[info.name];
  if (rel) {
    const dataDir = requireDataDir({ dataDir: opt.dataDir, env: opt.env, cwd: opt.cwd });
    try {
      const names = readRegularFileSync(path.join(dataDir, rel), { what: 'the class names file', hint: 'give a text file of one name per line' }).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
      // A file that does not list exactly one name per class is not trusted for the labels.
      if (names.length === info.classes) return names;
    } catch {
      // no names file: numbered classes
    }
  }
  return numberedClassNames(info.classes);
}
