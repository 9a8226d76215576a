/**
 * The image-folder layout: DIR/train/<class>/... and optionally DIR/test/<class>/..., a class per
 * folder, labels in sorted order of the train class names.
 *
 * Rules (README "Your own images"):
 *  - names starting with '.' (.DS_Store, .git, editor files) are ignored everywhere, and so is
 *    everything in DIR besides train/ and test/;
 *  - a class folder is searched recursively: images in its subfolders belong to the class;
 *  - images are *.png, *.jpg, *.jpeg (any case); any other file inside train/ or test/ is a bad
 *    file, like a corrupt image: an error, or skipped and counted with --skip-bad;
 *  - an image name must be a regular file (symlinks followed): a FIFO, device, socket or folder
 *    named like an image is a bad file too, and is never opened (a FIFO would block the read
 *    forever, /dev/zero would never end);
 *  - an empty class folder, fewer than two classes, or a test class that train/ lacks is an error
 *    whatever --skip-bad says, since it changes what the labels mean.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DataError, InputError, quotePath } from '../../util/errors.js';
import { pathKind } from '../../util/regularFile.js';
import { IMAGE_EXTENSIONS } from './decode.js';

export type FolderSplit = 'train' | 'test';

export interface ImageEntry {
  readonly split: FolderSplit;
  /** Path relative to the dataset folder, '/'-separated (e.g. train/cat/001.png). */
  readonly rel: string;
  readonly abs: string;
  readonly label: number;
}

export interface BadFile {
  readonly rel: string;
  /** Short reason for the notice and the error message. */
  readonly reason: string;
}

export interface FolderScan {
  readonly dir: string;
  readonly classNames: readonly string[];
  readonly train: readonly ImageEntry[];
  readonly test: readonly ImageEntry[] | null;
  /** Files inside train/ or test/ that are not images (in path order). */
  readonly bad: readonly BadFile[];
}

/** Locale-independent order (UTF-16 code units), the same on every machine. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const LAYOUT = 'the layout is DIR/train/<class>/*.png|jpg|jpeg, optionally DIR/test/<class>/...';

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

type EntryKind = 'dir' | 'file' | 'broken' | 'other';

/** Visible entries of a folder, sorted, each with its (symlink-followed) kind and its description. */
function listFolder(abs: string): Array<{ name: string; kind: EntryKind; description: string }> {
  let names: string[];
  try {
    names = fs.readdirSync(abs);
  } catch (e) {
    throw new DataError(`cannot read the folder ${quotePath(abs)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check its permissions`);
  }
  return names
    .filter((n) => !n.startsWith('.'))
    .sort(compareNames)
    .map((name) => {
      // stat, never open: opening a FIFO blocks until a writer comes.
      const { kind, description } = pathKind(path.join(abs, name));
      // 'missing': a dangling symlink, or no permission to stat
      return { name, kind: kind === 'missing' ? 'broken' as const : kind, description };
    });
}

/** Files of a class folder, recursively, in sorted path order. */
function walkClass(
  root: string, relRoot: string, split: FolderSplit, label: number, out: ImageEntry[], bad: BadFile[], seen: Set<string>,
): void {
  const real = fs.realpathSync(root);
  if (seen.has(real)) return; // a symlink loop
  seen.add(real);
  for (const { name, kind, description } of listFolder(root)) {
    const abs = path.join(root, name);
    const rel = `${relRoot}/${name}`;
    const image = isImageName(name);
    if (kind === 'broken') bad.push({ rel, reason: description });
    else if (!image && kind === 'dir') walkClass(abs, rel, split, label, out, bad, seen);
    else if (!image) bad.push({ rel, reason: `not a ${IMAGE_EXTENSIONS.join('/')} image` });
    else if (kind === 'file') out.push({ split, rel, abs, label });
    else bad.push({ rel, reason: `is ${description}, not a regular file` });
  }
}

function scanSplit(
  dir: string, split: FolderSplit, classIndex: ReadonlyMap<string, number> | null, bad: BadFile[],
): { classNames: string[]; entries: ImageEntry[] } {
  const splitDir = path.join(dir, split);
  const classNames: string[] = [];
  const entries: ImageEntry[] = [];
  const folders = listFolder(splitDir);
  for (const { name, kind } of folders) {
    if (kind !== 'dir') bad.push({ rel: `${split}/${name}`, reason: 'not in a class folder' });
    else classNames.push(name);
  }
  for (const name of classNames) {
    let label = classNames.indexOf(name);
    if (classIndex) {
      const l = classIndex.get(name);
      if (l === undefined) {
        throw new InputError(`the test class folder ${quotePath(path.join(splitDir, name))} has no counterpart in train/: ` +
          'rename it to a train class or remove it');
      }
      label = l;
    }
    const before = entries.length;
    walkClass(path.join(splitDir, name), `${split}/${name}`, split, label, entries, bad, new Set());
    if (entries.length === before) {
      throw new InputError(`the class folder ${quotePath(path.join(splitDir, name))} has no images ` +
        `(${IMAGE_EXTENSIONS.join(', ')}): add images or remove the folder`);
    }
  }
  return { classNames, entries };
}

function isDir(p: string): boolean | null {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return null;
  }
}

/**
 * Lists a dataset folder: class names (sorted train/ folder names), the image files of each
 * split in a fixed order (by label, then path) and the bad files. Throws an InputError for a
 * layout that cannot be a dataset (no train/, fewer than two classes, an empty class folder, a
 * test class train/ lacks).
 */
export function scanImageFolder(dirText: string): FolderScan {
  const dir = path.resolve(dirText);
  if (isDir(dir) !== true) throw new InputError(`${quotePath(dirText)} is not a folder; ${LAYOUT}`);
  if (isDir(path.join(dir, 'train')) !== true) {
    throw new InputError(`the folder ${quotePath(dir)} has no train/ folder; ${LAYOUT}`);
  }
  const bad: BadFile[] = [];
  const train = scanSplit(dir, 'train', null, bad);
  if (train.classNames.length < 2) {
    const found = train.classNames.length ? ` (only ${quotePath(train.classNames[0])})` : '';
    throw new InputError(`${quotePath(path.join(dir, 'train'))} needs at least 2 class folders, found ` +
      `${train.classNames.length}${found}; add a folder of images per class`);
  }
  const hasTest = isDir(path.join(dir, 'test'));
  if (hasTest === false) throw new InputError(`${quotePath(path.join(dir, 'test'))} is a file, not a folder; ${LAYOUT}`);
  const test = hasTest ? scanSplit(dir, 'test', new Map(train.classNames.map((n, i) => [n, i])), bad) : null;
  if (test && test.classNames.length === 0) {
    throw new InputError(`${quotePath(path.join(dir, 'test'))} has no class folders: add DIR/test/<class>/ images or remove test/`);
  }
  // Label-major order: the images of a class stay together whatever their subfolders.
  const order = (a: ImageEntry, b: ImageEntry) => a.label - b.label || compareNames(a.rel, b.rel);
  return {
    dir, classNames: train.classNames,
    train: [...train.entries].sort(order),
    test: test ? [...test.entries].sort(order) : null,
    bad: bad.sort((a, b) => compareNames(a.rel, b.rel)),
  };
}
