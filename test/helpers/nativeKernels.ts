/** The native kernels for the tests of the addon (test/native*.test.ts). */
import { loadNativeKernels, nativeKernelsUnavailableReason, type NativeKernels } from '../../src/engine/addon/binding.js';

/** The loaded addon, or null when it is unavailable (tests of it then run only `loads the addon`). */
export const kernels = loadNativeKernels();

export { nativeKernelsUnavailableReason };

/** The kernels, or a loud failure explaining how to get them. */
export function K(): NativeKernels {
  if (!kernels) {
    throw new Error(
      `native kernels unavailable: ${nativeKernelsUnavailableReason()}. ` +
        'Install oneDNN (apt-get install libdnnl-dev) and run `node addon/build.mjs`.',
    );
  }
  return kernels;
}
