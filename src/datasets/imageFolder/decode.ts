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
 * An image with alpha goes through two sharp calls, so that the resize sees three plain channels.
 * A truncated or corrupt file is an error (sharp's `failOn: 'warning'`), never a half-grey image.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DataError, quotePath } from '../../util/errors.js';

/** File extensions taken as images (lower case; matched case-insensitively). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

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

/**
 * Decode image bytes to 3 x size x size channel planes (R plane, G plane, B plane, row-major),
 * the layout of `ImageSet.pixels`. Throws `DecodeFailure` for data sharp cannot decode.
 */
export async function decodeImageBytes(bytes: Uint8Array, size: number): Promise<Uint8Array> {
  checkSize(size);
  decodes++;
  let rgb: Buffer;
  try {
    const resize = { width: size, height: size, fit: 'cover', position: 'centre', kernel: 'lanczos3', fastShrinkOnLoad: false } as const;
    const { hasAlpha } = await sharp(bytes).metadata(); // the header only
    if (!hasAlpha) {
      // One pipeline, so a large JPEG is shrunk while it is decoded (several times faster).
      rgb = await sharp(bytes, { failOn: 'warning' }).rotate().toColourspace('srgb').resize(resize).raw().toBuffer();
    } else {
      // libvips resizes with premultiplied alpha, which would darken the colours the alpha
      // hides; dropping alpha in a first pass keeps the stored colours.
      const out = await sharp(bytes, { failOn: 'warning' }).rotate().removeAlpha().toColourspace('srgb').raw()
        .toBuffer({ resolveWithObject: true });
      const { width, height, channels } = out.info;
      rgb = width === size && height === size
        ? out.data
        : await sharp(out.data, { raw: { width, height, channels } }).resize(resize).raw().toBuffer();
    }
  } catch (e) {
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
export async function decodeImage(path: string, size: number): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new DataError(`cannot read the image ${quotePath(path)} (${code}); check the path and its permissions`);
  }
  try {
    return await decodeImageBytes(bytes, size);
  } catch (e) {
    if (!(e instanceof DecodeFailure)) throw e;
    throw new DataError(`cannot decode the image ${quotePath(path)} (${e.reason}); give an undamaged PNG or JPEG file`);
  }
}
