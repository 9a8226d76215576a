/**
 * Class names of a dataset in label order, for the trained network's `labels`.
 *
 * Read from the names files that ship beside the CIFAR binaries (`batches.meta.txt`,
 * `fine_label_names.txt`); where there is none (ImageNet16-120), the classes are named by their
 * number. Once the dataset layer exposes class names itself this file should defer to it.
 */
import fs from 'node:fs';
import path from 'node:path';

const NAME_FILES: Record<string, string> = {
  cifar10: 'cifar-10-batches-bin/batches.meta.txt',
  cifar100: 'cifar-100-binary/fine_label_names.txt',
};

export function classNames(dataset: string, classes: number, dataDir: string): string[] {
  const rel = NAME_FILES[dataset];
  if (rel) {
    try {
      const names = fs.readFileSync(path.join(dataDir, rel), 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
      if (names.length === classes) return names;
    } catch {
      // no names file: fall through to numbered classes
    }
  }
  return Array.from({ length: classes }, (_, i) => `class_${i}`);
}
