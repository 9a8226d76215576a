// mfnas native kernels: oneDNN primitives on caller-owned float32 buffers.
//
// Layouts (TensorFlow.js conventions):
//   activations NHWC, convolution filters HWIO ([kh, kw, ci, co]),
//   per-channel vectors (gamma, beta, mean, variance) [C].
//
// All functions are synchronous and write only into the caller's output
// buffers. Primitives, internal (blocked-format) buffers and reorders are
// cached per calling thread by shape, so every JS thread (main or worker)
// owns an independent cache and oneDNN streams.
//
// Results depend on the inputs and shapes only: not on set_threads, on the
// calls made before, or on machine load (see kernels.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mfnas {

// Padding is explicit per side (top, bottom, left, right) as in TensorFlow.js
// ('same' padding may be asymmetric); PyTorch's symmetric `padding=p` is
// pt = pb = pl = pr = p. Output size: floor((h + pt + pb - kh) / sh) + 1.
// Groups g (PyTorch's `groups`): output channels [j·co/g, (j+1)·co/g) see input channels
// [j·ci/g, (j+1)·ci/g); the filter is [kh, kw, ci/g, co] (g = ci = co: depthwise, [kh, kw, c, 1]).
struct ConvShape {
  int64_t n, h, w, ci, co, kh, kw, sh, sw, pt, pb, pl, pr;
  int64_t g = 1;
  int64_t wei_len() const { return kh * kw * (ci / g) * co; }
  int64_t oh() const { return (h + pt + pb - kh) / sh + 1; }
  int64_t ow() const { return (w + pl + pr - kw) / sw + 1; }
};

struct PoolShape {
  int64_t n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr;
  bool exclude_pad;
  int64_t oh() const { return (h + pt + pb - kh) / sh + 1; }
  int64_t ow() const { return (w + pl + pr - kw) / sw + 1; }
};

// Convolution memory-format policy.
//   kConvNhwc:    primitives run directly on the user's NHWC / HWIO memory.
//   kConvBlocked: primitives choose their formats (format_tag::any); inputs
//                 and outputs are reordered to/from internal buffers.
//   kConvAuto:    a fixed rule on the shape and direction (kernels.cc,
//                 make_conv_auto); never timed, so never load-dependent.
enum ConvFormat { kConvNhwc = 0, kConvBlocked = 1, kConvAuto = 2 };

// Threads used per call: how many batch chunks run at once. Never changes results.
void set_threads(int n);
int get_threads();
void set_conv_format(int mode);
int get_conv_format();
void clear_cache();
size_t cache_size();
std::string version_string();
// oneDNN's effective CPU instruction set, e.g. "avx512_core".
std::string cpu_isa_string();
// Implementation names chosen by oneDNN for the cached primitives (debugging).
std::string describe_cache();

// Throws std::runtime_error (or dnnl::error) on invalid shapes.
void conv2d_forward(const ConvShape& s, const float* x, const float* w, float* y);
void conv2d_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw);

// Training-mode batch norm over N, H, W per channel. gamma/beta may be null
// (no scale / no shift). mean/variance receive the batch statistics
// (variance biased, divisor N*H*W).
void batchnorm_forward(int64_t n, int64_t h, int64_t w, int64_t c, float eps,
                       const float* x, const float* gamma, const float* beta,
                       float* y, float* mean, float* variance);
// dgamma requires gamma; dgamma/dbeta may be null when not wanted.
void batchnorm_backward(int64_t n, int64_t h, int64_t w, int64_t c, float eps,
                        const float* x, const float* dy, const float* gamma,
                        const float* mean, const float* variance,
                        float* dx, float* dgamma, float* dbeta);

void relu_forward(int64_t len, const float* x, float* y);
void relu_backward(int64_t len, const float* x, const float* dy, float* dx);
// y = ((xs[0] + xs[1]) + xs[2]) + ... elementwise (k >= 2); y must not overlap an input.
void add_n(int64_t len, int64_t k, const float* const* xs, float* y);

void avgpool_forward(const PoolShape& s, const float* x, float* y);
void avgpool_backward(const PoolShape& s, const float* dy, float* dx);

}  // namespace mfnas
