// N-API (C API, no node-addon-api) binding for the mfnas oneDNN kernels.
//
// Every kernel takes Float32Array views (any byteOffset, ArrayBuffer or
// SharedArrayBuffer, e.g. views on a WebAssembly.Memory) and plain integer
// shape arguments; it validates that each view has exactly the element
// count the shape implies and writes into the caller's output views.
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "oneapi/dnnl/dnnl.hpp"

namespace {

// Thrown after a JS exception is already pending.
struct JsPending {};

struct View {
  float* data = nullptr;
  size_t len = 0;
};

void throw_type(napi_env env, const std::string& msg) {
  napi_throw_type_error(env, "ERR_MFNAS_NATIVE_ARG", msg.c_str());
  throw JsPending{};
}

void throw_range(napi_env env, const std::string& msg) {
  napi_throw_range_error(env, "ERR_MFNAS_NATIVE_ARG", msg.c_str());
  throw JsPending{};
}

void check_status(napi_env env, napi_status st, const char* what) {
  if (st == napi_ok) return;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, nullptr, what);
  throw JsPending{};
}

struct Args {
  napi_env env;
  static constexpr size_t kMaxArgs = 17;
  napi_value argv[kMaxArgs];
  size_t argc = kMaxArgs;
  const char* fn;

  // Between `expected` and `at_most` (default: exactly `expected`) arguments.
  Args(napi_env e, napi_callback_info info, const char* name, size_t expected, size_t at_most = 0)
      : env(e), fn(name) {
    if (at_most < expected) at_most = expected;
    check_status(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "napi_get_cb_info");
    if (argc < expected || argc > at_most)
      throw_type(env, std::string(fn) + ": expected " + std::to_string(expected) +
                          (at_most > expected ? " or " + std::to_string(at_most) : std::string()) +
                          " arguments, got " + std::to_string(argc));
  }

  std::string where(size_t i, const char* name) const {
    return std::string(fn) + ": argument " + std::to_string(i) + " (" + name + ")";
  }

  // A Float32Array view. napi_get_typedarray_info already returns the data
  // pointer adjusted by byteOffset: do NOT add the offset again.
  View f32(size_t i, const char* name, size_t expected_len, bool nullable = false) const {
    napi_value v = argv[i];
    napi_valuetype t;
    check_status(env, napi_typeof(env, v, &t), "napi_typeof");
    if (nullable && (t == napi_null || t == napi_undefined)) return View{};
    bool is_ta = false;
    check_status(env, napi_is_typedarray(env, v, &is_ta), "napi_is_typedarray");
    if (!is_ta) throw_type(env, where(i, name) + " must be a Float32Array" + (nullable ? " or null" : ""));
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    check_status(env, napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr),
                 "napi_get_typedarray_info");
    if (type != napi_float32_array) throw_type(env, where(i, name) + " must be a Float32Array");
    if (length != expected_len)
      throw_range(env, where(i, name) + " has " + std::to_string(length) + " elements, expected " +
                           std::to_string(expected_len));
    if (length > 0 && data == nullptr) throw_type(env, where(i, name) + " is detached");
    return View{static_cast<float*>(data), length};
  }

  int64_t i64(size_t i, const char* name, int64_t min = 0) const {
    double d = 0;
    napi_status st = napi_get_value_double(env, argv[i], &d);
    if (st != napi_ok) throw_type(env, where(i, name) + " must be a number");
    if (!(std::floor(d) == d) || d < (double)min || d > 9007199254740991.0)
      throw_range(env, where(i, name) + " must be an integer >= " + std::to_string(min));
    return (int64_t)d;
  }

  double f64(size_t i, const char* name) const {
    double d = 0;
    if (napi_get_value_double(env, argv[i], &d) != napi_ok) throw_type(env, where(i, name) + " must be a number");
    return d;
  }

  bool boolean(size_t i, const char* name) const {
    bool b = false;
    if (napi_get_value_bool(env, argv[i], &b) != napi_ok) throw_type(env, where(i, name) + " must be a boolean");
    return b;
  }
};

// Outputs must not overlap inputs (except exact aliasing where allowed).
void no_overlap(napi_env env, const char* fn, const View& out, const View& in, bool allow_same = false) {
  if (!out.data || !in.data || out.len == 0 || in.len == 0) return;
  const char* a0 = reinterpret_cast<const char*>(out.data);
  const char* a1 = a0 + out.len * sizeof(float);
  const char* b0 = reinterpret_cast<const char*>(in.data);
  const char* b1 = b0 + in.len * sizeof(float);
  if (a0 < b1 && b0 < a1) {
    if (allow_same && a0 == b0 && a1 == b1) return;
    throw_range(env, std::string(fn) + ": an output overlaps an input");
  }
}

template <typename F>
napi_value guard(napi_env env, const char* fn, F&& body) {
  try {
    return body();
  } catch (const JsPending&) {
    return nullptr;
  } catch (const dnnl::error& e) {
    std::string msg = std::string(fn) + ": oneDNN error: " + e.what() + " (status " +
                      std::to_string((int)e.status) + ")";
    napi_throw_error(env, "ERR_MFNAS_ONEDNN", msg.c_str());
  } catch (const std::invalid_argument& e) {
    napi_throw_range_error(env, "ERR_MFNAS_NATIVE_ARG", e.what());
  } catch (const std::exception& e) {
    std::string msg = std::string(fn) + ": " + e.what();
    napi_throw_error(env, nullptr, msg.c_str());
  } catch (...) {
    napi_throw_error(env, nullptr, (std::string(fn) + ": unknown native error").c_str());
  }
  return nullptr;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

napi_value string(napi_env env, const std::string& s) {
  napi_value v;
  napi_create_string_utf8(env, s.c_str(), s.size(), &v);
  return v;
}

mfnas::ConvShape conv_shape(const Args& a, size_t first) {
  mfnas::ConvShape s;
  s.n = a.i64(first + 0, "n", 1);
  s.h = a.i64(first + 1, "h", 1);
  s.w = a.i64(first + 2, "w", 1);
  s.ci = a.i64(first + 3, "inChannels", 1);
  s.co = a.i64(first + 4, "outChannels", 1);
  s.kh = a.i64(first + 5, "kernelH", 1);
  s.kw = a.i64(first + 6, "kernelW", 1);
  s.sh = a.i64(first + 7, "strideH", 1);
  s.sw = a.i64(first + 8, "strideW", 1);
  s.pt = a.i64(first + 9, "padTop", 0);
  s.pb = a.i64(first + 10, "padBottom", 0);
  s.pl = a.i64(first + 11, "padLeft", 0);
  s.pr = a.i64(first + 12, "padRight", 0);
  s.g = a.argc > first + 13 ? a.i64(first + 13, "groups", 1) : 1;
  if (s.ci % s.g != 0 || s.co % s.g != 0)
    throw_range(a.env, std::string(a.fn) + ": groups must divide the input and output channels");
  if (s.pt >= s.kh || s.pb >= s.kh || s.pl >= s.kw || s.pr >= s.kw)
    throw_range(a.env, std::string(a.fn) + ": padding must be smaller than the kernel");
  if (s.h + s.pt + s.pb < s.kh || s.w + s.pl + s.pr < s.kw)
    throw_range(a.env, std::string(a.fn) + ": kernel larger than the padded input");
  return s;
}

mfnas::PoolShape pool_shape(const Args& a, size_t first) {
  mfnas::PoolShape s;
  s.n = a.i64(first + 0, "n", 1);
  s.h = a.i64(first + 1, "h", 1);
  s.w = a.i64(first + 2, "w", 1);
  s.c = a.i64(first + 3, "channels", 1);
  s.kh = a.i64(first + 4, "kernelH", 1);
  s.kw = a.i64(first + 5, "kernelW", 1);
  s.sh = a.i64(first + 6, "strideH", 1);
  s.sw = a.i64(first + 7, "strideW", 1);
  s.pt = a.i64(first + 8, "padTop", 0);
  s.pb = a.i64(first + 9, "padBottom", 0);
  s.pl = a.i64(first + 10, "padLeft", 0);
  s.pr = a.i64(first + 11, "padRight", 0);
  s.exclude_pad = a.boolean(first + 12, "excludePad");
  if (s.pt >= s.kh || s.pb >= s.kh || s.pl >= s.kw || s.pr >= s.kw)
    throw_range(a.env, std::string(a.fn) + ": padding must be smaller than the kernel");
  if (s.h + s.pt + s.pb < s.kh || s.w + s.pl + s.pr < s.kw)
    throw_range(a.env, std::string(a.fn) + ": kernel larger than the padded input");
  return s;
}

size_t in_len(const mfnas::ConvShape& s) { return (size_t)(s.n * s.h * s.w * s.ci); }
size_t out_len(const mfnas::ConvShape& s) { return (size_t)(s.n * s.oh() * s.ow() * s.co); }
size_t wei_len(const mfnas::ConvShape& s) { return (size_t)s.wei_len(); }

// conv2d(x, w, y, n, h, w, ci, co, kh, kw, sh, sw, pt, pb, pl, pr[, groups])
napi_value Conv2d(napi_env env, napi_callback_info info) {
  return guard(env, "conv2d", [&]() -> napi_value {
    Args a(env, info, "conv2d", 16, 17);
    auto s = conv_shape(a, 3);
    View x = a.f32(0, "x", in_len(s)), w = a.f32(1, "filter", wei_len(s)), y = a.f32(2, "y", out_len(s));
    no_overlap(env, a.fn, y, x);
    no_overlap(env, a.fn, y, w);
    mfnas::conv2d_forward(s, x.data, w.data, y.data);
    return undefined(env);
  });
}

// conv2dBackwardData(dy, w, dx, n, h, w, ci, co, kh, kw, sh, sw, pt, pb, pl, pr[, groups])
napi_value Conv2dBackwardData(napi_env env, napi_callback_info info) {
  return guard(env, "conv2dBackwardData", [&]() -> napi_value {
    Args a(env, info, "conv2dBackwardData", 16, 17);
    auto s = conv_shape(a, 3);
    View dy = a.f32(0, "dy", out_len(s)), w = a.f32(1, "filter", wei_len(s)), dx = a.f32(2, "dx", in_len(s));
    no_overlap(env, a.fn, dx, dy);
    no_overlap(env, a.fn, dx, w);
    mfnas::conv2d_backward_data(s, dy.data, w.data, dx.data);
    return undefined(env);
  });
}

// conv2dBackwardFilter(x, dy, dw, n, h, w, ci, co, kh, kw, sh, sw, pt, pb, pl, pr[, groups])
napi_value Conv2dBackwardFilter(napi_env env, napi_callback_info info) {
  return guard(env, "conv2dBackwardFilter", [&]() -> napi_value {
    Args a(env, info, "conv2dBackwardFilter", 16, 17);
    auto s = conv_shape(a, 3);
    View x = a.f32(0, "x", in_len(s)), dy = a.f32(1, "dy", out_len(s)), dw = a.f32(2, "dw", wei_len(s));
    no_overlap(env, a.fn, dw, x);
    no_overlap(env, a.fn, dw, dy);
    mfnas::conv2d_backward_weights(s, x.data, dy.data, dw.data);
    return undefined(env);
  });
}

// batchNorm(x, gamma|null, beta|null, y, mean, variance, n, h, w, c, eps)
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  return guard(env, "batchNorm", [&]() -> napi_value {
    Args a(env, info, "batchNorm", 11);
    int64_t n = a.i64(6, "n", 1), h = a.i64(7, "h", 1), w = a.i64(8, "w", 1), c = a.i64(9, "channels", 1);
    double eps = a.f64(10, "eps");
    if (!(eps >= 0)) throw_range(env, "batchNorm: eps must be >= 0");
    size_t len = (size_t)(n * h * w * c), cl = (size_t)c;
    View x = a.f32(0, "x", len), g = a.f32(1, "gamma", cl, true), b = a.f32(2, "beta", cl, true);
    View y = a.f32(3, "y", len), mean = a.f32(4, "mean", cl), var = a.f32(5, "variance", cl);
    no_overlap(env, a.fn, y, x, true);
    for (const View* o : {&mean, &var})
      for (const View* i : {&x, &g, &b, &y}) no_overlap(env, a.fn, *o, *i);
    no_overlap(env, a.fn, mean, var);
    no_overlap(env, a.fn, y, g);
    no_overlap(env, a.fn, y, b);
    mfnas::batchnorm_forward(n, h, w, c, (float)eps, x.data, g.data, b.data, y.data, mean.data, var.data);
    return undefined(env);
  });
}

// batchNormBackward(x, dy, gamma|null, mean, variance, dx, dgamma|null, dbeta|null, n, h, w, c, eps)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  return guard(env, "batchNormBackward", [&]() -> napi_value {
    Args a(env, info, "batchNormBackward", 13);
    int64_t n = a.i64(8, "n", 1), h = a.i64(9, "h", 1), w = a.i64(10, "w", 1), c = a.i64(11, "channels", 1);
    double eps = a.f64(12, "eps");
    if (!(eps >= 0)) throw_range(env, "batchNormBackward: eps must be >= 0");
    size_t len = (size_t)(n * h * w * c), cl = (size_t)c;
    View x = a.f32(0, "x", len), dy = a.f32(1, "dy", len), g = a.f32(2, "gamma", cl, true);
    View mean = a.f32(3, "mean", cl), var = a.f32(4, "variance", cl), dx = a.f32(5, "dx", len);
    View dg = a.f32(6, "dgamma", cl, true), db = a.f32(7, "dbeta", cl, true);
    if (dg.data && !g.data) throw_type(env, "batchNormBackward: dgamma requires gamma");
    no_overlap(env, a.fn, dx, dy, true);
    for (const View* i : {&x, &g, &mean, &var}) no_overlap(env, a.fn, dx, *i);
    for (const View* o : {&dg, &db})
      for (const View* i : {&x, &dy, &g, &mean, &var, &dx}) no_overlap(env, a.fn, *o, *i);
    no_overlap(env, a.fn, dg, db);
    mfnas::batchnorm_backward(n, h, w, c, (float)eps, x.data, dy.data, g.data, mean.data, var.data, dx.data,
                              dg.data, db.data);
    return undefined(env);
  });
}

// Length-agnostic Float32Array fetch for elementwise ops.
View any_f32(const Args& a, size_t i, const char* name) {
  napi_value v = a.argv[i];
  bool is_ta = false;
  check_status(a.env, napi_is_typedarray(a.env, v, &is_ta), "napi_is_typedarray");
  if (!is_ta) throw_type(a.env, a.where(i, name) + " must be a Float32Array");
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  check_status(a.env, napi_get_typedarray_info(a.env, v, &type, &length, &data, nullptr, nullptr),
               "napi_get_typedarray_info");
  if (type != napi_float32_array) throw_type(a.env, a.where(i, name) + " must be a Float32Array");
  if (length > 0 && data == nullptr) throw_type(a.env, a.where(i, name) + " is detached");
  return View{static_cast<float*>(data), length};
}

// relu(x, y) — y may be x itself.
napi_value ReluFwd(napi_env env, napi_callback_info info) {
  return guard(env, "relu", [&]() -> napi_value {
    Args a(env, info, "relu", 2);
    View x = any_f32(a, 0, "x");
    View y = a.f32(1, "y", x.len);
    no_overlap(env, a.fn, y, x, true);
    mfnas::relu_forward((int64_t)x.len, x.data, y.data);
    return undefined(env);
  });
}

// reluBackward(x, dy, dx) — dx may be dy itself.
napi_value ReluBwd(napi_env env, napi_callback_info info) {
  return guard(env, "reluBackward", [&]() -> napi_value {
    Args a(env, info, "reluBackward", 3);
    View x = any_f32(a, 0, "x");
    View dy = a.f32(1, "dy", x.len), dx = a.f32(2, "dx", x.len);
    no_overlap(env, a.fn, dx, dy, true);
    no_overlap(env, a.fn, dx, x);
    mfnas::relu_backward((int64_t)x.len, x.data, dy.data, dx.data);
    return undefined(env);
  });
}

// addN(y, x0, x1, ...) — y = ((x0 + x1) + x2) + ..., element by element: the bits of a chain of
// two-input adds, in one pass over the inputs.
napi_value AddN(napi_env env, napi_callback_info info) {
  return guard(env, "addN", [&]() -> napi_value {
    size_t argc = 0;
    check_status(env, napi_get_cb_info(env, info, &argc, nullptr, nullptr, nullptr), "napi_get_cb_info");
    if (argc < 3 || argc > 16)
      throw_type(env, "addN: expected y and 2 to 15 inputs, got " + std::to_string(argc) + " arguments");
    Args a(env, info, "addN", argc);
    View y = any_f32(a, 0, "y");
    std::vector<const float*> xs;
    for (size_t i = 1; i < argc; ++i) {
      View x = a.f32(i, "x", y.len);
      no_overlap(env, a.fn, y, x);
      xs.push_back(x.data);
    }
    mfnas::add_n((int64_t)y.len, (int64_t)xs.size(), xs.data(), y.data);
    return undefined(env);
  });
}

size_t pool_in(const mfnas::PoolShape& s) { return (size_t)(s.n * s.h * s.w * s.c); }
size_t pool_out(const mfnas::PoolShape& s) { return (size_t)(s.n * s.oh() * s.ow() * s.c); }

// avgPool(x, y, n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr, excludePad)
napi_value AvgPool(napi_env env, napi_callback_info info) {
  return guard(env, "avgPool", [&]() -> napi_value {
    Args a(env, info, "avgPool", 15);
    auto s = pool_shape(a, 2);
    View x = a.f32(0, "x", pool_in(s)), y = a.f32(1, "y", pool_out(s));
    no_overlap(env, a.fn, y, x);
    mfnas::avgpool_forward(s, x.data, y.data);
    return undefined(env);
  });
}

// avgPoolBackward(dy, dx, n, h, w, c, kh, kw, sh, sw, pt, pb, pl, pr, excludePad)
napi_value AvgPoolBackward(napi_env env, napi_callback_info info) {
  return guard(env, "avgPoolBackward", [&]() -> napi_value {
    Args a(env, info, "avgPoolBackward", 15);
    auto s = pool_shape(a, 2);
    View dy = a.f32(0, "dy", pool_out(s)), dx = a.f32(1, "dx", pool_in(s));
    no_overlap(env, a.fn, dx, dy);
    mfnas::avgpool_backward(s, dy.data, dx.data);
    return undefined(env);
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guard(env, "setThreads", [&]() -> napi_value {
    Args a(env, info, "setThreads", 1);
    int64_t n = a.i64(0, "n", 1);
    if (n > 1024) throw_range(env, "setThreads: n must be <= 1024");
    mfnas::set_threads((int)n);
    return undefined(env);
  });
}

napi_value GetThreads(napi_env env, napi_callback_info) {
  return guard(env, "getThreads", [&]() -> napi_value { return number(env, mfnas::get_threads()); });
}

napi_value SetConvFormat(napi_env env, napi_callback_info info) {
  return guard(env, "setConvFormat", [&]() -> napi_value {
    Args a(env, info, "setConvFormat", 1);
    int64_t m = a.i64(0, "mode", 0);
    if (m > 2) throw_range(env, "setConvFormat: mode must be 0 (nhwc), 1 (blocked) or 2 (auto: fixed rule)");
    mfnas::set_conv_format((int)m);
    return undefined(env);
  });
}

napi_value GetConvFormat(napi_env env, napi_callback_info) {
  return guard(env, "getConvFormat", [&]() -> napi_value { return number(env, mfnas::get_conv_format()); });
}

napi_value ClearCache(napi_env env, napi_callback_info) {
  return guard(env, "clearCache", [&]() -> napi_value {
    mfnas::clear_cache();
    return undefined(env);
  });
}

napi_value CacheSize(napi_env env, napi_callback_info) {
  return guard(env, "cacheSize", [&]() -> napi_value { return number(env, (double)mfnas::cache_size()); });
}

napi_value DescribeCache(napi_env env, napi_callback_info) {
  return guard(env, "describeCache", [&]() -> napi_value { return string(env, mfnas::describe_cache()); });
}

}  // namespace

NAPI_MODULE_INIT() {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  const Fn fns[] = {
      {"conv2d", Conv2d},
      {"conv2dBackwardData", Conv2dBackwardData},
      {"conv2dBackwardFilter", Conv2dBackwardFilter},
      {"batchNorm", BatchNorm},
      {"batchNormBackward", BatchNormBackward},
      {"relu", ReluFwd},
      {"reluBackward", ReluBwd},
      {"addN", AddN},
      {"avgPool", AvgPool},
      {"avgPoolBackward", AvgPoolBackward},
      {"setThreads", SetThreads},
      {"getThreads", GetThreads},
      {"setConvFormat", SetConvFormat},
      {"getConvFormat", GetConvFormat},
      {"clearCache", ClearCache},
      {"cacheSize", CacheSize},
      {"describeCache", DescribeCache},
  };
  for (const Fn& f : fns) {
    napi_value fn;
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn) != napi_ok) return nullptr;
    if (napi_set_named_property(env, exports, f.name, fn) != napi_ok) return nullptr;
  }
  napi_value v;
  napi_create_string_utf8(env, mfnas::version_string().c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "dnnlVersion", v);
  napi_create_string_utf8(env, mfnas::cpu_isa_string().c_str(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, exports, "cpuIsa", v);
  // Must match ADDON_ABI in src/engine/addon/binding.ts.
  napi_create_uint32(env, 6, &v);
  napi_set_named_property(env, exports, "abiVersion", v);
  return exports;
}
