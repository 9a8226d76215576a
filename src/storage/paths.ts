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
