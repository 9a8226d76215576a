/** Where mfnas keeps its own files unless told otherwise. */
import os from 'node:os';
import path from 'node:path';

export const CACHE_ENV = 'MFNAS_CACHE';

/** The score cache: --cache, else MFNAS_CACHE, else $XDG_CACHE_HOME/mfnas or ~/.cache/mfnas. */
export function defaultCachePath(env: Record<string, string | undefined> = process.env): string {
  if (env[CACHE_ENV]) return path.resolve(env[CACHE_ENV]!);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'mfnas', 'scores.sqlite');
}

export const IMAGE_CACHE_ENV = 'MFNAS_IMAGE_CACHE';

/**
 * The folder of decoded image-folder datasets (src/datasets/imageFolder/cache.ts): MFNAS_IMAGE_CACHE,
 * else $XDG_CACHE_HOME/mfnas/images or ~/.cache/mfnas/images.
 */
export function defaultImageCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env[IMAGE_CACHE_ENV]) return path.resolve(env[IMAGE_CACHE_ENV]!);
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'mfnas', 'images');
}
