/**
 * Decoding one image file into the ImageSet layout with sharp (libvips, shipped as npm packages,
 * so it installs from the npm registry alone).
 *
 * The pipeline, in this order:
 *  1. decode (PNG or JPEG; the first frame of anything animated), turned upright by its EXIF
 *     orientation, colour-managed to sRGB, 8 bits per channel;
 *  2. alpha dropped (not blended: the colour values are kept as stored), grey copied to 3 channels;
 *  3. resized so that the shorter side is `size` and centre-cropped to size x size (aspect ratio
 *     kept, as torchvision's Resize(size) + CenterCrop(size)); libvips' Lanczos-3 kernel, which
 *     antialiases when shrinking (a JPEG is first shrunk by its decoder, accurately:
 *     `fastShrinkOnLoad: false`). An image already size x size is left untouched.
 *
 * Limits: images over MAX_IMAGE_PIXELS pixels (sharp's default, 16383 x 16383) or files over
 * MAX_IMAGE_FILE_BYTES are refused before decoding. A truncated or corrupt file is an error
 * (sharp's `failOn: 'warning'`), never a half-grey image.
 *
 * Memory. Without alpha, one sharp pipeline decodes and shrinks as it goes: libvips holds a few
 * source rows, not the image. With alpha it cannot: sharp always resizes with premultiplied alpha
 * (its `removeAlpha` runs after the resize whatever the call order, and every pipeline colour space
 * premultiplies), which would darken or blacken the colours the alpha hides. So an image with
 * alpha takes two passes, the first dropping alpha at full size: in memory when that is small
 * (ALPHA_IN_MEMORY_BYTES), else streamed through an uncompressed TIFF in the temporary folder, which
 * libvips writes and reads back strip by strip (the same bytes either way; a 16000 x 16000 RGBA PNG
 * then peaks at about 0.4 GB instead of 1.1 GB).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DataError, quotePath } from '../../util/errors.js';
import { readRegularFile } from '../../util/regularFile.js';

/** File extensions taken as images (lower case; matched case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/** Larger images are refused before decoding: sharp's own default, 16383 x 16383. */
export const MAX_IMAGE_PIXELS = 0x3fff * 0x3fff;
/** Larger image files are refused before they are read (a 16383 x 16383 RGBA PNG of noise is ~1 GB). */
export const MAX_IMAGE_FILE_BYTES = 256 * 2 ** 20;
/** An image with alpha whose full-size RGB exceeds this is dropped to RGB through a temporary file. */
export const ALPHA_IN_MEMORY_BYTES = 32 * 2 ** 20;

/**
 * Everything that changes decoded bytes: bump DECODE_VERSION when the pipeline above changes.
 * Part of the cache key, so a new decoder never reads an old decoder's pixels.
 */
const DECODE_VERSION = 2;
export const DECODER_ID = `mfnas-decode-${DECODE_VERSION}/sharp-${sharp.versions.sharp}/vips-${sharp.versions.vips}`;

/**
 * Highway's SIMD paths pick instructions by CPU; without them libvips' resize is the same C code
 * everywhere, which makes the decoded bytes (and the content-keyed cache) independent of the CPU.
 */
sharp.simd(false);
// Every file is decoded once per open; libvips' operation cache would only hold memory.
sharp.cache(false);

/** Decodes so far in this process (lets tests see that a cache hit decoded nothing). */
let decodes = 0;
export function decodeCount(): number {
  return decodes;
}

/** Raised for a file sharp cannot decode; `reason` is sharp's one-line explanation. */
export class DecodeFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DecodeFailure';
  }
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`image size must be a positive integer, got ${size}`);
}

const SHARP_INPUT = { failOn: 'warning', limitInputPixels: MAX_IMAGE_PIXELS } as const;

function resizeTo(size: number) {
  return { width: size, height: size, fit: 'cover', position: 'centre', kernel: 'lanczos3', fastShrinkOnLoad: false } as const;
}

/** One temporary-file decode at a time: each can write up to 0.8 GB (MAX_IMAGE_PIXELS x 3 bytes). */
let fileDecodes: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = fileDecodes.then(work, work);
  fileDecodes = run.catch(() => undefined);
  return run;
}

/** Alpha dropped at full size, then resized: through memory, or a temporary TIFF for large images. */
async function decodeWithAlpha(bytes: Uint8Array, size: number, fullBytes: number, inMemoryLimit: number): Promise<Buffer> {
  const dropAlpha = () => sharp(bytes, SHARP_INPUT).rotate().removeAlpha().toColourspace('srgb');
  if (fullBytes <= inMemoryLimit) {
    const out = await dropAlpha().raw().toBuffer({ resolveWithObject: true });
    const { width, height, channels } = out.info;
    return width === size && height === size
      ? out.data
      : sharp(out.data, { raw: { width, height, channels } }).resize(resizeTo(size)).raw().toBuffer();
  }
  return oneAtATime(async () => {
    let dir: string;
    try {
      dir = await mkdtemp(path.join(os.tmpdir(), 'mfnas-decode-'));
    } catch (e) {
      throw new DataError(`cannot create a temporary folder in ${quotePath(os.tmpdir())} to decode a large image with alpha ` +
        `(${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): set TMPDIR to a writable folder`);
    }
    try {
      const file = path.join(dir, 'rgb.tif');
      await dropAlpha().tiff({ compression: 'none' }).toFile(file);
      return await sharp(file, SHARP_INPUT).resize(resizeTo(size)).raw().toBuffer();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

function overPixelLimit(width: number, height: number): string | null {
  if (width * height <= MAX_IMAGE_PIXELS) return null;
  return `${width} x ${height} pixels, over the limit of ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} (16383 x 16383); shrink it`;
}

export interface DecodeOptions {
  /** Full-size RGB bytes above which an image with alpha goes through a temporary file (tests lower it). */
  readonly alphaInMemoryBytes?: number;
}

/**
 * Decode image bytes to 3 x size x size channel planes (R plane, G plane, B plane, row-major),
 * the layout of `ImageSet.pixels`. Throws `DecodeFailure` for data sharp cannot decode or an
 * image over MAX_IMAGE_PIXELS.
 */
export async function decodeImageBytes(bytes: Uint8Array, size: number, options: DecodeOptions = {}): Promise<Uint8Array> {
  checkSize(size);
  decodes++;
  let rgb: Buffer;
  try {
    const { hasAlpha, width = 0, height = 0 } = await sharp(bytes, { limitInputPixels: false }).metadata(); // the header only: limited below
    const tooLarge = overPixelLimit(width, height);
    if (tooLarge) throw new DecodeFailure(tooLarge);
    if (!hasAlpha) {
      // One pipeline, so a large JPEG is shrunk while it is decoded (several times faster).
      rgb = await sharp(bytes, SHARP_INPUT).rotate().toColourspace('srgb').resize(resizeTo(size)).raw().toBuffer();
    } else {
      rgb = await decodeWithAlpha(bytes, size, 3 * width * height, options.alphaInMemoryBytes ?? ALPHA_IN_MEMORY_BYTES);
    }
  } catch (e) {
    if (e instanceof DecodeFailure || e instanceof DataError) throw e;
    throw new DecodeFailure(String((e as Error).message ?? e).split('\n')[0].trim());
  }
  const plane = size * size;
  if (rgb.length !== 3 * plane) throw new DecodeFailure(`decoded to ${rgb.length} bytes, expected ${3 * plane}`);
  const out = new Uint8Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    out[p] = rgb[3 * p];
    out[plane + p] = rgb[3 * p + 1];
    out[2 * plane + p] = rgb[3 * p + 2];
  }
  return out;
}

/**
 * Decode an image file (PNG or JPEG) to 3 x size x size channel planes (R, G, B; row-major), the
 * layout of `ImageSet.pixels`: alpha dropped, grey copied to 3 channels, the shorter side resized
 * to `size` and the centre cropped. A file that cannot be read or decoded is a one-line
 * `DataError` naming it.
 */
export async function decodeImage(file: string, size: number): Promise<Uint8Array> {
  const bytes = await readRegularFile(file, { what: 'the image', hint: 'give a PNG or JPEG file', maxBytes: MAX_IMAGE_FILE_BYTES });
  try {
    return await decodeImageBytes(bytes, size);
  } catch (e) {
    if (!(e instanceof DecodeFailure)) throw e;
    throw new DataError(`cannot decode the image ${quotePath(file)} (${e.reason}); give an undamaged PNG or JPEG file`);
  }
}
