/**
 * mfnas kernels for the tfjs-node ('tensorflow') backend of the 'node' engine.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dTorchPad, torchPadding } from './generic.js';
import { registerMfnasKernel } from './registry.js';

registerMfnasKernel({
  name: 'Conv2dTorchPad',
  backend: 'tensorflow',
  forward: (inputs, attrs, save) => {
    const [x, w] = inputs;
    const padding = torchPadding(w.shape, attrs.stride, attrs.pad);
    if (typeof padding === 'string') return conv2dTorchPad.forward(inputs, attrs, save);
    // Explicit padding support in native TF gradients is not guaranteed: pad, then 'valid'.
    return tf.conv2d(tf.pad(x, padding), w, attrs.stride, 'valid');
  },
});
