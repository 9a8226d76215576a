// oneDNN-backed kernels for mfnas. See kernels.hpp for the contract.
//
// Reproducibility. Every result is a function of the inputs and the shape
// only: never of the thread count, of machine load, or of which calls came
// before (on one machine and oneDNN build; other CPUs may pick other oneDNN
// kernels). Three rules make it so:
//  - oneDNN primitives are always created for one thread, and a batch is cut
//    into chunks whose sizes depend on N alone (split_batch). setThreads(n)
//    only decides how many chunks run at the same time, each chunk on its own
//    single-threaded primitive execution. Weight gradients are summed over
//    the chunks in chunk order.
//  - Batch norm is not oneDNN's (its reduction split follows the thread
//    count): per-channel sums are taken over fixed pixel blocks in double and
//    added in block order.
//  - The convolution memory format is a fixed rule on the shape
//    (make_conv_auto), never timed.
#include "kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace mfnas {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

std::atomic<int> g_conv_format{kConvAuto};
constexpr size_t kMaxCacheEntries = 4096;

// Largest number of images per chunk. Smaller chunks would let more threads
// share a batch but make each oneDNN call less efficient (16 measured 2-5%
// slower than 32 on 16x16..4x4 maps at 1 and 2 threads; addon/README.md).
constexpr int64_t kMaxChunk = 32;

// Pixels (N*H*W positions) per batch-norm block: the unit of its fixed
// reduction order.
constexpr int64_t kBnBlock = 1024;

// The batch cut into `count` consecutive chunks of near-equal size: the first
// `extra` chunks hold base + 1 images, the rest base. At most two distinct
// chunk sizes, hence at most two primitives per shape.
struct Chunks {
  int64_t count, base, extra;
  int64_t start(int64_t k) const { return k * base + std::min(k, extra); }
};

Chunks split_batch(int64_t n) {
  const int64_t count = (n + kMaxChunk - 1) / kMaxChunk;
  return Chunks{count, n / count, n % count};
}

// oneDNN reads omp_get_max_threads() when it creates a primitive and bakes
// the work split (and for weight gradients the reduction order) into it.
// Holding it at 1 while creating makes every primitive single-threaded.
struct OneThread {
  int prev;
  OneThread() : prev(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OneThread() { omp_set_num_threads(prev); }
};

// Per OpenMP thread of a JS thread: a stream and a scratchpad. oneDNN memory
// objects and streams are not safe to share between concurrently running
// chunks; primitives are.
struct Slot {
  dnnl::stream strm;
  std::vector<char> raw;
  char* ptr = nullptr;
  size_t cap = 0;

  explicit Slot(const dnnl::engine& eng) : strm(eng) {}

  void* scratch(size_t bytes) {
    if (bytes > cap) {
      raw.assign(bytes + 64, 0);
      uintptr_t p = reinterpret_cast<uintptr_t>(raw.data());
      ptr = reinterpret_cast<char*>((p + 63) & ~uintptr_t(63));
      cap = bytes;
    }
    return ptr;
  }
};

// One argument of a primitive: how the caller's memory is described and, when
// the primitive prefers another format, the reorder between the two.
struct ArgSpec {
  int id = 0;
  bool output = false;
  memory::desc user_md;  // descriptor the caller's pointer is wrapped with
  memory::desc prim_md;
  bool reorder = false;
  dnnl::primitive re;
  size_t re_scratch = 0;
};

// Memory objects of one Op for one slot (the internal buffers of reordered
// arguments, and handles re-pointed at every call).
struct Bound {
  std::vector<memory> user, internal;
  memory scratch, re_scratch;
};

struct Op {
  dnnl::primitive prim;
  std::vector<ArgSpec> args;
  memory::desc scratch_md;
  size_t scratch_bytes = 0;
  std::string impl;
  std::string name;
  const char* format = "";
  std::vector<std::unique_ptr<Bound>> bound;  // per slot
};

// Runs the chunks of one kernel call on the calling thread and up to `helpers` more.
//
// Not an OpenMP parallel region: a region ends at a barrier every thread of its team must
// reach, so when another process holds a core, a descheduled team member makes every region
// wait for the scheduler (milliseconds), and a network's pass is thousands of short regions:
// at 2 threads on a busy 2-core machine a search ran 22x slower than at 1 thread. Here the
// caller takes chunks itself and waits only for chunks a helper has started; a helper that
// has not woken up yet is simply not needed. Which thread runs which chunk never matters:
// each chunk writes its own outputs (see for_chunks).
class TaskPool {
 public:
  explicit TaskPool(int helpers) {
    for (int i = 1; i <= helpers; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~TaskPool() {
    {
      std::lock_guard<std::mutex> l(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  int helpers() const { return (int)threads_.size(); }

  // f(k, slot) for k in [0, count); slots 0 (the caller) .. width-1.
  void run(int64_t count, int width, const std::function<void(int64_t, int)>& f) {
    auto job = std::make_shared<Job>();
    job->count = count;
    job->width = width;
    job->fn = &f;
    {
      std::lock_guard<std::mutex> l(m_);
      job_ = job;
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    work(*job, 0);
    // Every chunk is claimed now; wait for those still running on a helper.
    while (job->done.load(std::memory_order_acquire) < count) std::this_thread::yield();
    if (job->err) std::rethrow_exception(job->err);
  }

 private:
  struct Job {
    int64_t count = 0;
    int width = 1;
    const std::function<void(int64_t, int)>* fn = nullptr;
    std::atomic<int64_t> next{0}, done{0};
    std::mutex err_m;
    std::exception_ptr err;
  };

  static void work(Job& j, int slot) {
    for (;;) {
      const int64_t k = j.next.fetch_add(1, std::memory_order_relaxed);
      if (k >= j.count) return;  // a late helper of a finished call stops here, before fn
      try {
        (*j.fn)(k, slot);
      } catch (...) {
        std::lock_guard<std::mutex> l(j.err_m);
        if (!j.err) j.err = std::current_exception();
      }
      j.done.fetch_add(1, std::memory_order_release);
    }
  }

  void loop(int slot) {
    // oneDNN primitives run on this thread must stay single-threaded, as on the caller's.
    omp_set_num_threads(1);
    uint64_t seen = 0;
    for (;;) {
      // Kernel calls come in quick succession during a pass: poll a little before sleeping.
      for (int spin = 0; spin < 4000 && gen_.load(std::memory_order_acquire) == seen && !stop_.load(); ++spin) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      }
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return stop_ || gen_.load(std::memory_order_relaxed) != seen; });
        if (stop_) return;
        seen = gen_.load(std::memory_order_relaxed);
        job = job_;
      }
      if (slot < job->width) work(*job, slot);
    }
  }

  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<uint64_t> gen_{0};
  std::shared_ptr<Job> job_;
  std::atomic<bool> stop_{false};
};

struct Ctx {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  std::vector<std::unique_ptr<Slot>> slots;
  std::unordered_map<std::string, std::shared_ptr<Op>> cache;
  std::vector<float> partials;  // per-chunk weight gradients
  std::vector<double> sums;     // per-block batch-norm sums
  int threads = 1;
  std::unique_ptr<TaskPool> pool;

  TaskPool& helpers(int n) {
    if (!pool || pool->helpers() < n) {
      pool.reset();
      pool.reset(new TaskPool(n));
    }
    return *pool;
  }

  // Only ever called outside parallel regions.
  void ensure_slots(int n) {
    while ((int)slots.size() < n) slots.emplace_back(new Slot(eng));
  }
};

Ctx& ctx() {
  thread_local std::unique_ptr<Ctx> c;
  if (!c) c.reset(new Ctx());
  // Our parallel regions name their thread count; the ICV stays at 1 so that
  // nothing oneDNN creates or runs outside them uses more than one thread.
  if (omp_get_max_threads() != 1) omp_set_num_threads(1);
  return *c;
}

dnnl::primitive_attr user_scratch_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// True when the blocked descriptor `blk` addresses exactly the same bytes as
// the plain strided descriptor `plain` for every logical index. This holds
// when every blocked dimension consists of a single block covering the whole
// dimension, e.g. nChw16c with C == 16 is nhwc, OIhw16i16o with I = O = 16 is
// hwio. Then the caller's memory can be handed to the primitive as is.
bool same_bytes(const memory::desc& plain, const memory::desc& blk) {
  const dnnl_memory_desc_t& p = plain.data;
  const dnnl_memory_desc_t& b = blk.data;
  if (p.format_kind != dnnl_blocked || b.format_kind != dnnl_blocked) return false;
  if (p.ndims != b.ndims || p.data_type != b.data_type || p.offset0 != b.offset0) return false;
  if (p.extra.flags != 0 || b.extra.flags != 0) return false;
  const auto& pb = p.format_desc.blocking;
  const auto& bb = b.format_desc.blocking;
  if (pb.inner_nblks != 0) return false;
  for (int d = 0; d < p.ndims; ++d)
    if (p.dims[d] != b.dims[d] || b.padded_dims[d] != b.dims[d]) return false;
  // Element stride of each logical dimension in `blk`.
  dnnl_dims_t coef;
  bool blocked_dim[DNNL_MAX_NDIMS] = {false};
  for (int d = 0; d < b.ndims; ++d) coef[d] = bb.strides[d];
  for (int i = 0; i < bb.inner_nblks; ++i) {
    const int d = bb.inner_idxs[i];
    if (blocked_dim[d]) return false;  // two blocks on one dimension: not affine
    blocked_dim[d] = true;
    if (bb.inner_blks[i] != b.dims[d]) return false;  // the block must cover the dimension
    dnnl_dim_t inner = 1;
    for (int j = i + 1; j < bb.inner_nblks; ++j) inner *= bb.inner_blks[j];
    coef[d] = inner;
  }
  for (int d = 0; d < p.ndims; ++d)
    if (p.dims[d] > 1 && coef[d] != pb.strides[d]) return false;
  return true;
}

// user_md describes the caller's memory, prim_md what the primitive wants.
ArgSpec make_arg(Ctx& c, int id, bool output, const memory::desc& user_md, const memory::desc& prim_md) {
  ArgSpec a;
  a.id = id;
  a.output = output;
  a.prim_md = prim_md;
  if (!(user_md == prim_md) && same_bytes(user_md, prim_md)) {
    // Zero-copy: wrap the caller's pointer with the primitive's descriptor.
    a.user_md = prim_md;
    return a;
  }
  a.user_md = user_md;
  if (!(user_md == prim_md)) {
    a.reorder = true;
    const memory::desc& from = output ? prim_md : user_md;
    const memory::desc& to = output ? user_md : prim_md;
    dnnl::reorder::primitive_desc rpd(c.eng, from, c.eng, to, user_scratch_attr());
    a.re_scratch = rpd.scratchpad_desc().get_size();
    a.re = dnnl::reorder(rpd);
  }
  return a;
}

template <typename PD>
void finish_op(Op& op, const PD& pd, const char* name) {
  op.scratch_md = pd.scratchpad_desc();
  op.scratch_bytes = op.scratch_md.get_size();
  const char* impl = pd.impl_info_str();
  op.impl = impl ? impl : "?";
  op.name = name;
}

// Gives slots [0, n) their memory objects. Outside parallel regions only.
void bind_slots(Ctx& c, Op& op, int n) {
  while ((int)op.bound.size() < n) {
    auto b = std::make_unique<Bound>();
    size_t re_max = 0;
    for (auto& a : op.args) {
      b->user.push_back(memory(a.user_md, c.eng, DNNL_MEMORY_NONE));
      b->internal.push_back(a.reorder ? memory(a.prim_md, c.eng) : memory());
      re_max = std::max(re_max, a.re_scratch);
    }
    if (op.scratch_bytes > 0) b->scratch = memory(op.scratch_md, c.eng, DNNL_MEMORY_NONE);
    if (re_max > 0)
      b->re_scratch = memory(memory::desc({(memory::dim)re_max}, dt::u8, tag::a), c.eng, DNNL_MEMORY_NONE);
    op.bound.push_back(std::move(b));
  }
}

void reorder_run(Slot& sl, const ArgSpec& a, Bound& b, size_t i) {
  const memory& from = a.output ? b.internal[i] : b.user[i];
  const memory& to = a.output ? b.user[i] : b.internal[i];
  std::unordered_map<int, memory> m{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  if (a.re_scratch > 0) {
    b.re_scratch.set_data_handle(sl.scratch(a.re_scratch));
    m.emplace(DNNL_ARG_SCRATCHPAD, b.re_scratch);
  }
  a.re.execute(sl.strm, m);
}

// Runs `op` on slot `slot` with the caller's pointers, in the order of op.args.
void run(Ctx& c, Op& op, int slot, std::initializer_list<const void*> ptrs) {
  Slot& sl = *c.slots[slot];
  Bound& b = *op.bound[slot];
  size_t i = 0;
  for (const void* p : ptrs) b.user[i++].set_data_handle(const_cast<void*>(p));
  for (size_t j = 0; j < op.args.size(); ++j)
    if (op.args[j].reorder && !op.args[j].output) reorder_run(sl, op.args[j], b, j);
  std::unordered_map<int, memory> m;
  for (size_t j = 0; j < op.args.size(); ++j)
    m.emplace(op.args[j].id, op.args[j].reorder ? b.internal[j] : b.user[j]);
  if (op.scratch_bytes > 0) {
    b.scratch.set_data_handle(sl.scratch(op.scratch_bytes));
    m.emplace(DNNL_ARG_SCRATCHPAD, b.scratch);
  }
  op.prim.execute(sl.strm, m);
  for (size_t j = 0; j < op.args.size(); ++j)
    if (op.args[j].reorder && op.args[j].output) reorder_run(sl, op.args[j], b, j);
  sl.strm.wait();
}

std::shared_ptr<Op> lookup(Ctx& c, const std::string& key) {
  auto it = c.cache.find(key);
  return it == c.cache.end() ? nullptr : it->second;
}

void store(Ctx& c, const std::string& key, const std::shared_ptr<Op>& op) {
  if (c.cache.size() >= kMaxCacheEntries) c.cache.clear();
  c.cache[key] = op;
}

void check(bool ok, const char* msg) {
  if (!ok) throw std::invalid_argument(msg);
}

// Runs f(k, slot) for k in [0, count) on the calling thread and up to threads - 1 helpers
// (TaskPool). Which thread runs which k varies; f must write only k's own outputs. A
// primitive created for one thread runs its whole work on the thread that executes it
// (oneDNN's parallel() calls the body directly for one thread).
template <typename F>
void for_chunks(int64_t count, int threads, F&& f) {
  const int nt = (int)std::min<int64_t>(threads, count);
  if (nt <= 1) {
    for (int64_t k = 0; k < count; ++k) f(k, 0);
    return;
  }
  const std::function<void(int64_t, int)> fn = [&f](int64_t k, int slot) { f(k, slot); };
  ctx().helpers(nt - 1).run(count, nt, fn);
}

// The ops for each distinct chunk size of a batch (index 0: base + 1 images,
// index 1: base), bound for `slots` slots. make(n) builds an op for n images.
// Shared pointers: storing the second may flush the cache.
template <typename Make>
void chunk_ops(Ctx& c, const Chunks& ch, int slots, const std::string& key_prefix, Make&& make,
               std::shared_ptr<Op> out[2]) {
  for (int i = 0; i < 2; ++i) {
    if (i == 0 && ch.extra == 0) continue;  // all chunks hold `base` (extra < count always)
    const int64_t n = ch.base + (i == 0 ? 1 : 0);
    const std::string key = key_prefix + std::to_string(n);
    auto op = lookup(c, key);
    if (!op) {
      OneThread one;
      op = make(n);
      store(c, key, op);
    }
    bind_slots(c, *op, slots);
    out[i] = op;
  }
}

// ---------------------------------------------------------------- conv

enum ConvDir { kFwd = 0, kBwdData = 1, kBwdWeights = 2 };

void validate(const ConvShape& s) {
  check(s.n > 0 && s.h > 0 && s.w > 0 && s.ci > 0 && s.co > 0, "conv2d: sizes must be positive");
  check(s.kh > 0 && s.kw > 0 && s.sh > 0 && s.sw > 0, "conv2d: kernel and stride must be positive");
  check(s.pt >= 0 && s.pb >= 0 && s.pl >= 0 && s.pr >= 0, "conv2d: padding must be >= 0");
  check(s.pt < s.kh && s.pb < s.kh && s.pl < s.kw && s.pr < s.kw,
        "conv2d: padding must be smaller than the kernel");
  check(s.h + s.pt + s.pb >= s.kh && s.w + s.pl + s.pr >= s.kw, "conv2d: kernel larger than padded input");
  check(s.g >= 1 && s.ci % s.g == 0 && s.co % s.g == 0, "conv2d: groups must divide the input and output channels");
}

// Shape key without the batch size (it follows as the chunk size).
std::string conv_key(const ConvShape& s, int dir, int mode) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "conv%d/m%d/g%lld:%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,n=", dir,
                mode, (long long)s.g, (long long)s.h, (long long)s.w, (long long)s.ci, (long long)s.co, (long long)s.kh,
                (long long)s.kw, (long long)s.sh, (long long)s.sw, (long long)s.pt, (long long)s.pb,
                (long long)s.pl, (long long)s.pr);
  return buf;
}

std::shared_ptr<Op> make_conv(Ctx& c, const ConvShape& s, int dir, int mode) {
  const int64_t oh = s.oh(), ow = s.ow();
  // oneDNN wants the bottom/right padding consistent with the output size;
  // the floor in the output size can make it smaller than the requested one.
  const int64_t prh = (oh - 1) * s.sh + s.kh - s.h - s.pt;
  const int64_t prw = (ow - 1) * s.sw + s.kw - s.w - s.pl;
  // A negative right padding (rows never read) is handled by describing the
  // source as a cropped view with the full tensor's strides.
  const int64_t hc = prh < 0 ? s.h + prh : s.h;
  const int64_t wc = prw < 0 ? s.w + prw : s.w;
  memory::dims strides{s.sh, s.sw}, pl{s.pt, s.pl}, pr{std::max<int64_t>(prh, 0), std::max<int64_t>(prw, 0)};

  // NHWC strides of the full (uncropped) source, logical dims N,C,H,W.
  memory::desc src_user({s.n, s.ci, hc, wc}, dt::f32,
                        memory::dims{s.h * s.w * s.ci, 1, s.w * s.ci, s.ci});
  // The filter [kh, kw, ci/g, co]; grouped, oneDNN's logical dims are (g, co/g, ci/g, kh, kw).
  const int64_t cig = s.ci / s.g, cog = s.co / s.g;
  const memory::dims wei_dims = s.g == 1 ? memory::dims{s.co, s.ci, s.kh, s.kw} : memory::dims{s.g, cog, cig, s.kh, s.kw};
  memory::desc wei_user = s.g == 1 ? memory::desc(wei_dims, dt::f32, tag::hwio)
                                   : memory::desc(wei_dims, dt::f32, memory::dims{cog, 1, s.co, s.kw * cig * s.co, cig * s.co});
  memory::desc dst_user({s.n, s.co, oh, ow}, dt::f32, tag::nhwc);

  const bool blocked = mode == kConvBlocked;
  memory::desc src_any = blocked ? memory::desc({s.n, s.ci, hc, wc}, dt::f32, tag::any) : src_user;
  // Weights are small: always let the primitive pick their format (with a
  // plain HWIO filter oneDNN 2.6 falls back to its slow gemm convolution).
  memory::desc wei_any = memory::desc(wei_dims, dt::f32, tag::any);
  memory::desc dst_any = blocked ? memory::desc({s.n, s.co, oh, ow}, dt::f32, tag::any) : dst_user;

  auto attr = user_scratch_attr();
  auto op = std::make_shared<Op>();
  op->format = blocked ? " blocked" : " nhwc";
  dnnl::convolution_forward::desc fd(prop_kind::forward_training, algorithm::convolution_direct,
                                     src_any, wei_any, dst_any, strides, pl, pr);
  dnnl::convolution_forward::primitive_desc fpd(fd, attr, c.eng);
  if (dir == kFwd) {
    op->prim = dnnl::convolution_forward(fpd);
    op->args.push_back(make_arg(c, DNNL_ARG_SRC, false, src_user, fpd.src_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_WEIGHTS, false, wei_user, fpd.weights_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_DST, true, dst_user, fpd.dst_desc()));
    finish_op(*op, fpd, "conv_fwd");
  } else if (dir == kBwdData) {
    dnnl::convolution_backward_data::desc bd(algorithm::convolution_direct, src_any, wei_any,
                                             dst_any, strides, pl, pr);
    dnnl::convolution_backward_data::primitive_desc bpd(bd, attr, c.eng, fpd);
    op->prim = dnnl::convolution_backward_data(bpd);
    op->args.push_back(make_arg(c, DNNL_ARG_DIFF_DST, false, dst_user, bpd.diff_dst_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_WEIGHTS, false, wei_user, bpd.weights_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_DIFF_SRC, true, src_user, bpd.diff_src_desc()));
    finish_op(*op, bpd, "conv_bwd_data");
  } else {
    dnnl::convolution_backward_weights::desc bd(algorithm::convolution_direct, src_any, wei_any,
                                                dst_any, strides, pl, pr);
    dnnl::convolution_backward_weights::primitive_desc bpd(bd, attr, c.eng, fpd);
    op->prim = dnnl::convolution_backward_weights(bpd);
    op->args.push_back(make_arg(c, DNNL_ARG_SRC, false, src_user, bpd.src_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_DIFF_DST, false, dst_user, bpd.diff_dst_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_DIFF_WEIGHTS, true, wei_user, bpd.diff_weights_desc()));
    finish_op(*op, bpd, "conv_bwd_weights");
  }
  return op;
}

// The fixed format rule of mode kConvAuto (measurements: addon/README.md,
// "Formats"). Forward and backward-data take oneDNN's blocked layout when it
// is the caller's NHWC bytes themselves for both activations (channel counts
// equal to the CPU's channel block, e.g. 16 with AVX-512): no reorder, and
// its jit kernels beat the NHWC ones there. Otherwise, and always for weight
// gradients, NHWC. Depends on the shape and the CPU only.
std::shared_ptr<Op> make_conv_auto(Ctx& c, const ConvShape& s, int dir) {
  if (dir != kBwdWeights) {
    auto op = make_conv(c, s, dir, kConvBlocked);
    bool copies = false;
    for (auto& a : op->args)
      if (a.reorder && a.id != DNNL_ARG_WEIGHTS) copies = true;
    if (!copies) return op;
  }
  return make_conv(c, s, dir, kConvNhwc);
}

// Rows/columns of dx that no output position reads (negative right padding)
// get no gradient: zero them, since the primitive only sees the cropped view.
void zero_cropped_tail(const ConvShape& s, float* dx) {
  const int64_t prh = (s.oh() - 1) * s.sh + s.kh - s.h - s.pt;
  const int64_t prw = (s.ow() - 1) * s.sw + s.kw - s.w - s.pl;
  if (prh >= 0 && prw >= 0) return;
  const int64_t hc = prh < 0 ? s.h + prh : s.h;
  const int64_t wc = prw < 0 ? s.w + prw : s.w;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t y = 0; y < s.h; ++y) {
      float* row = dx + ((n * s.h + y) * s.w) * s.ci;
      if (y >= hc) {
        std::memset(row, 0, sizeof(float) * s.w * s.ci);
      } else if (wc < s.w) {
        std::memset(row + wc * s.ci, 0, sizeof(float) * (s.w - wc) * s.ci);
      }
    }
}

void conv_run(const ConvShape& s, int dir, const float* a, const float* b, float* out) {
  validate(s);
  Ctx& c = ctx();
  const int mode = g_conv_format.load();
  const Chunks ch = split_batch(s.n);
  const int slots = (int)std::min<int64_t>(c.threads, ch.count);
  c.ensure_slots(slots);
  std::shared_ptr<Op> ops[2];
  chunk_ops(c, ch, slots, conv_key(s, dir, mode),
            [&](int64_t n) {
              ConvShape cs = s;
              cs.n = n;
              return mode == kConvAuto ? make_conv_auto(c, cs, dir) : make_conv(c, cs, dir, mode);
            },
            ops);
  const int64_t in_img = s.h * s.w * s.ci, out_img = s.oh() * s.ow() * s.co;
  const int64_t wsize = s.wei_len();
  if (dir == kBwdWeights && ch.count > 1) c.partials.resize((size_t)((ch.count - 1) * wsize));
  float* partials = c.partials.data();
  for_chunks(ch.count, slots, [&](int64_t k, int slot) {
    Op& op = *ops[k < ch.extra ? 0 : 1];
    const int64_t n0 = ch.start(k);
    if (dir == kFwd) {
      run(c, op, slot, {a + n0 * in_img, b, out + n0 * out_img});
    } else if (dir == kBwdData) {
      run(c, op, slot, {a + n0 * out_img, b, out + n0 * in_img});
    } else {
      float* dw = k == 0 ? out : partials + (k - 1) * wsize;
      run(c, op, slot, {a + n0 * in_img, b + n0 * out_img, dw});
    }
  });
  if (dir == kBwdWeights) {
    // Chunk order, whatever the thread count.
    for (int64_t k = 1; k < ch.count; ++k) {
      const float* p = partials + (k - 1) * wsize;
      for (int64_t i = 0; i < wsize; ++i) out[i] += p[i];
    }
  }
  if (dir == kBwdData) zero_cropped_tail(s, out);
}

// ---------------------------------------------------------------- pooling

void validate(const PoolShape& s) {
  check(s.n > 0 && s.h > 0 && s.w > 0 && s.c > 0, "avgPool: sizes must be positive");
  check(s.kh > 0 && s.kw > 0 && s.sh > 0 && s.sw > 0, "avgPool: kernel and stride must be positive");
  check(s.pt >= 0 && s.pb >= 0 && s.pl >= 0 && s.pr >= 0 && s.pt < s.kh && s.pb < s.kh && s.pl < s.kw &&
            s.pr < s.kw,
        "avgPool: padding must be >= 0 and smaller than the kernel");
  check(s.h + s.pt + s.pb >= s.kh && s.w + s.pl + s.pr >= s.kw, "avgPool: kernel larger than padded input");
}

std::string pool_key(const PoolShape& s, bool backward) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "pool%d:%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%d,n=",
                backward ? 1 : 0, (long long)s.h, (long long)s.w, (long long)s.c, (long long)s.kh,
                (long long)s.kw, (long long)s.sh, (long long)s.sw, (long long)s.pt, (long long)s.pb,
                (long long)s.pl, (long long)s.pr, s.exclude_pad ? 1 : 0);
  return buf;
}

std::shared_ptr<Op> make_pool(Ctx& c, const PoolShape& s, bool backward) {
  const int64_t oh = s.oh(), ow = s.ow();
  const int64_t prh = (oh - 1) * s.sh + s.kh - s.h - s.pt;
  const int64_t prw = (ow - 1) * s.sw + s.kw - s.w - s.pl;
  const int64_t hc = prh < 0 ? s.h + prh : s.h;
  const int64_t wc = prw < 0 ? s.w + prw : s.w;
  memory::dims strides{s.sh, s.sw}, kernel{s.kh, s.kw}, pl{s.pt, s.pl},
      pr{std::max<int64_t>(prh, 0), std::max<int64_t>(prw, 0)};
  memory::desc src_md({s.n, s.c, hc, wc}, dt::f32, memory::dims{s.h * s.w * s.c, 1, s.w * s.c, s.c});
  memory::desc dst_md({s.n, s.c, oh, ow}, dt::f32, tag::nhwc);
  const algorithm alg =
      s.exclude_pad ? algorithm::pooling_avg_exclude_padding : algorithm::pooling_avg_include_padding;
  auto attr = user_scratch_attr();
  auto op = std::make_shared<Op>();
  dnnl::pooling_forward::desc fd(prop_kind::forward_training, alg, src_md, dst_md, strides, kernel, pl, pr);
  dnnl::pooling_forward::primitive_desc fpd(fd, attr, c.eng);
  if (!backward) {
    op->prim = dnnl::pooling_forward(fpd);
    op->args.push_back(make_arg(c, DNNL_ARG_SRC, false, src_md, fpd.src_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_DST, true, dst_md, fpd.dst_desc()));
    finish_op(*op, fpd, "avgpool_fwd");
  } else {
    dnnl::pooling_backward::desc bd(alg, src_md, dst_md, strides, kernel, pl, pr);
    dnnl::pooling_backward::primitive_desc bpd(bd, attr, c.eng, fpd);
    op->prim = dnnl::pooling_backward(bpd);
    op->args.push_back(make_arg(c, DNNL_ARG_DIFF_DST, false, dst_md, bpd.diff_dst_desc()));
    op->args.push_back(make_arg(c, DNNL_ARG_DIFF_SRC, true, src_md, bpd.diff_src_desc()));
    finish_op(*op, bpd, "avgpool_bwd");
  }
  return op;
}

// Pooling windows never cross images, so chunking changes nothing in the
// arithmetic; it is done for the same single-threaded-primitive guarantee.
void pool_run(const PoolShape& s, bool backward, const float* in, float* out) {
  validate(s);
  Ctx& c = ctx();
  const Chunks ch = split_batch(s.n);
  const int slots = (int)std::min<int64_t>(c.threads, ch.count);
  c.ensure_slots(slots);
  std::shared_ptr<Op> ops[2];
  chunk_ops(c, ch, slots, pool_key(s, backward),
            [&](int64_t n) {
              PoolShape ps = s;
              ps.n = n;
              return make_pool(c, ps, backward);
            },
            ops);
  const int64_t x_img = s.h * s.w * s.c, y_img = s.oh() * s.ow() * s.c;
  const int64_t in_img = backward ? y_img : x_img, out_img = backward ? x_img : y_img;
  for_chunks(ch.count, slots, [&](int64_t k, int slot) {
    const int64_t n0 = ch.start(k);
    run(c, *ops[k < ch.extra ? 0 : 1], slot, {in + n0 * in_img, out + n0 * out_img});
  });
}

// ---------------------------------------------------------------- batch norm
//
// Per-channel sums over the N*H*W pixels are taken per block of kBnBlock
// pixels, in double, pixel after pixel inside a block (vectorised across
// channels only, so each channel's order is fixed), and the block sums are
// added in block order. The products summed are exact in double (float
// differences and products of two floats), so the only rounding is in the
// additions, whose order depends on the shape alone.
//
// The block functions are compiled for several instruction sets; lanes never
// mix channels and nothing is contracted to FMA (-ffp-contract=off), so every
// version gives the same bits.
#if defined(__x86_64__) && defined(__ELF__)
#define MFNAS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MFNAS_CLONES
#endif

struct Blocks {
  int64_t pixels, count;
  explicit Blocks(int64_t p) : pixels(p), count((p + kBnBlock - 1) / kBnBlock) {}
  int64_t begin(int64_t b) const { return b * kBnBlock; }
  int64_t end(int64_t b) const { return std::min(pixels, (b + 1) * kBnBlock); }
};

// Channels are processed in tiles of T so that the accumulators stay in
// registers; the tile loop visits the block's pixels once per tile (the block
// is small enough to stay in cache).
template <int T>
inline void stats_tile(const float* __restrict x, const float* __restrict shift, int64_t c, int64_t c0,
                       int64_t p0, int64_t p1, double* __restrict s1, double* __restrict s2) {
  double a[T], q[T];
  for (int j = 0; j < T; ++j) a[j] = q[j] = 0;
  for (int64_t p = p0; p < p1; ++p) {
    const float* xp = x + p * c + c0;
#pragma omp simd
    for (int j = 0; j < T; ++j) {
      const double d = (double)xp[j] - (double)shift[c0 + j];
      a[j] += d;
      q[j] += d * d;
    }
  }
  for (int j = 0; j < T; ++j) s1[c0 + j] = a[j], s2[c0 + j] = q[j];
}

// s1[c] = sum (x - shift), s2[c] = sum (x - shift)^2 over pixels [p0, p1).
MFNAS_CLONES void block_stats(const float* x, const float* shift, int64_t c, int64_t p0, int64_t p1,
                              double* s1, double* s2) {
  int64_t c0 = 0;
  for (; c0 + 16 <= c; c0 += 16) stats_tile<16>(x, shift, c, c0, p0, p1, s1, s2);
  for (; c0 + 4 <= c; c0 += 4) stats_tile<4>(x, shift, c, c0, p0, p1, s1, s2);
  for (; c0 < c; ++c0) stats_tile<1>(x, shift, c, c0, p0, p1, s1, s2);
}

template <int T>
inline void dstats_tile(const float* __restrict x, const float* __restrict dy, const float* __restrict mean,
                        int64_t c, int64_t c0, int64_t p0, int64_t p1, double* __restrict sdy,
                        double* __restrict sdyx) {
  double a[T], q[T];
  for (int j = 0; j < T; ++j) a[j] = q[j] = 0;
  for (int64_t p = p0; p < p1; ++p) {
    const float* xp = x + p * c + c0;
    const float* gp = dy + p * c + c0;
#pragma omp simd
    for (int j = 0; j < T; ++j) {
      const double g = (double)gp[j];
      a[j] += g;
      q[j] += g * ((double)xp[j] - (double)mean[c0 + j]);
    }
  }
  for (int j = 0; j < T; ++j) sdy[c0 + j] = a[j], sdyx[c0 + j] = q[j];
}

// sdy[c] = sum dy, sdyx[c] = sum dy * (x - mean) over pixels [p0, p1).
MFNAS_CLONES void block_dstats(const float* x, const float* dy, const float* mean, int64_t c, int64_t p0,
                               int64_t p1, double* sdy, double* sdyx) {
  int64_t c0 = 0;
  for (; c0 + 16 <= c; c0 += 16) dstats_tile<16>(x, dy, mean, c, c0, p0, p1, sdy, sdyx);
  for (; c0 + 4 <= c; c0 += 4) dstats_tile<4>(x, dy, mean, c, c0, p0, p1, sdy, sdyx);
  for (; c0 < c; ++c0) dstats_tile<1>(x, dy, mean, c, c0, p0, p1, sdy, sdyx);
}

// y = (x - mean) * scale + shift. y may be x.
MFNAS_CLONES void block_norm(const float* x, float* y, int64_t c, int64_t p0, int64_t p1, const float* mean,
                             const float* scale, const float* shift) {
  for (int64_t p = p0; p < p1; ++p) {
    const float* xp = x + p * c;
    float* yp = y + p * c;
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) yp[j] = (xp[j] - mean[j]) * scale[j] + shift[j];
  }
}

// dx = (dy - k2 - (x - mean) * k3) * k1. dx may be dy.
MFNAS_CLONES void block_dnorm(const float* x, const float* dy, float* dx, int64_t c, int64_t p0, int64_t p1,
                              const float* mean, const float* k1, const float* k2, const float* k3) {
  for (int64_t p = p0; p < p1; ++p) {
    const float* xp = x + p * c;
    const float* gp = dy + p * c;
    float* op = dx + p * c;
#pragma omp simd
    for (int64_t j = 0; j < c; ++j) op[j] = (gp[j] - k2[j] - (xp[j] - mean[j]) * k3[j]) * k1[j];
  }
}

// out[c] = sum over blocks b of part[b * stride + c], in block order.
void reduce_blocks(const double* part, int64_t blocks, int64_t stride, int64_t c, double* out) {
  for (int64_t ch = 0; ch < c; ++ch) out[ch] = 0;
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t ch = 0; ch < c; ++ch) out[ch] += part[b * stride + ch];
}

// ---------------------------------------------------------------- 3x3 average pool
//
// NAS-Bench-201's avg_pool_3x3 (stride 1, pad 1, padding excluded from the divisor) as a
// separable box sum: each output row adds three rows of horizontal 3-sums kept in a 3-row
// ring, so the input is read and the output written once. Forward: y = S(x) * inv;
// backward: dx = S(dy * inv), the zero-padded box sum S being its own transpose; inv is
// 1 / count per position. oneDNN's general pooling took about twice as long for the
// backward pass. Fixed order of additions, lanes never mix channels: any ISA, any
// chunking of images gives the same bits.

// t[x] = (src[x-1] + src[x]) + src[x+1] over the in-image columns, src = row (* scale per
// column, into tmp). The interior is one flat loop over columns and channels.
MFNAS_CLONES void box_hsum(const float* row, const float* scale, float* t, float* tmp, int64_t w, int64_t c) {
  const float* src = row;
  if (scale) {
    for (int64_t x = 0; x < w; ++x) {
      const float sx = scale[x];
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) tmp[x * c + j] = row[x * c + j] * sx;
    }
    src = tmp;
  }
  if (w == 1) {
    for (int64_t j = 0; j < c; ++j) t[j] = src[j];
    return;
  }
#pragma omp simd
  for (int64_t j = 0; j < c; ++j) t[j] = src[j] + src[c + j];
  const int64_t end = (w - 1) * c;
#pragma omp simd
  for (int64_t i = c; i < end; ++i) t[i] = (src[i - c] + src[i]) + src[i + c];
#pragma omp simd
  for (int64_t j = 0; j < c; ++j) t[end + j] = src[end - c + j] + src[end + j];
}

// out = (prev + cur) + next, elementwise over the row (prev / next absent at the borders),
// then * post per column when given.
MFNAS_CLONES void box_vsum(const float* prev, const float* cur, const float* next, const float* post, float* out,
                           int64_t w, int64_t c) {
  const int64_t n = w * c;
  if (prev && next) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = (prev[i] + cur[i]) + next[i];
  } else if (prev || next) {
    // A two-term sum: the order of its operands does not change the bits.
    const float* o = prev ? prev : next;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = o[i] + cur[i];
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = cur[i];
  }
  if (post) {
    for (int64_t x = 0; x < w; ++x) {
      const float p = post[x];
#pragma omp simd
      for (int64_t j = 0; j < c; ++j) out[x * c + j] *= p;
    }
  }
}

void box3x3_image(const float* in, float* out, int64_t h, int64_t w, int64_t c, const float* inv, bool backward,
                  float* ring) {
  const int64_t row = w * c;
  float* t[3] = {ring, ring + row, ring + 2 * row};
  float* tmp = ring + 3 * row;
  const auto hsum = [&](int64_t r) { box_hsum(in + r * row, backward ? inv + r * w : nullptr, t[r % 3], tmp, w, c); };
  hsum(0);
  if (h > 1) hsum(1);
  for (int64_t r = 0; r < h; ++r) {
    if (r + 1 < h && r + 1 >= 2) hsum(r + 1);
    box_vsum(r > 0 ? t[(r - 1) % 3] : nullptr, t[r % 3], r + 1 < h ? t[(r + 1) % 3] : nullptr,
             backward ? nullptr : inv + r * w, out + r * row, w, c);
  }
}

bool is_nb201_avgpool(const PoolShape& s) {
  return s.kh == 3 && s.kw == 3 && s.sh == 1 && s.sw == 1 && s.pt == 1 && s.pb == 1 && s.pl == 1 && s.pr == 1 &&
         s.exclude_pad;
}

void avgpool3x3_run(const PoolShape& s, bool backward, const float* in, float* out) {
  validate(s);
  std::vector<float> inv((size_t)(s.h * s.w));
  for (int64_t r = 0; r < s.h; ++r)
    for (int64_t x = 0; x < s.w; ++x) {
      const int rows = 1 + (r > 0) + (r < s.h - 1), cols = 1 + (x > 0) + (x < s.w - 1);
      inv[(size_t)(r * s.w + x)] = 1.f / (float)(rows * cols);
    }
  const int64_t img = s.h * s.w * s.c;
  Ctx& c = ctx();
  const int slots = (int)std::min<int64_t>(c.threads, s.n);
  c.ensure_slots(slots);
  for_chunks(s.n, slots, [&](int64_t i, int slot) {
    // The 3-row ring and a scaled row, in the slot's scratch memory.
    float* ring = static_cast<float*>(c.slots[(size_t)slot]->scratch((size_t)(4 * s.w * s.c) * sizeof(float)));
    box3x3_image(in + i * img, out + i * img, s.h, s.w, s.c, inv.data(), backward, ring);
  });
}

}  // namespace

// ---------------------------------------------------------------- public API

void set_threads(int n) {
  check(n >= 1, "setThreads: n must be >= 1");
  ctx().threads = n;
}

int get_threads() { return ctx().threads; }

void set_conv_format(int mode) {
  check(mode >= 0 && mode <= 2, "setConvFormat: unknown mode");
  g_conv_format.store(mode);
}

int get_conv_format() { return g_conv_format.load(); }

void clear_cache() {
  Ctx& c = ctx();
  c.cache.clear();
  c.slots.clear();
  c.partials = std::vector<float>();
  c.sums = std::vector<double>();
}

size_t cache_size() { return ctx().cache.size(); }

std::string version_string() {
  const dnnl_version_t* v = dnnl::version();
  std::ostringstream o;
  o << v->major << "." << v->minor << "." << v->patch;
  return o.str();
}

std::string cpu_isa_string() {
  // The instruction set oneDNN dispatches to. Its kernels (and so the bits of a convolution)
  // differ between ISAs; the key also needs it because a cache or a queue may span machines.
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "isa" + std::to_string((int)dnnl::get_effective_cpu_isa());
  }
}

std::string describe_cache() {
  Ctx& c = ctx();
  std::ostringstream o;
  for (auto& kv : c.cache) {
    o << kv.first << " -> " << kv.second->impl << kv.second->format;
    for (auto& a : kv.second->args)
      if (a.reorder) o << " [reorder arg " << a.id << "]";
    o << "\n";
  }
  return o.str();
}

void conv2d_forward(const ConvShape& s, const float* x, const float* w, float* y) {
  conv_run(s, kFwd, x, w, y);
}

void conv2d_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx) {
  conv_run(s, kBwdData, dy, w, dx);
}

void conv2d_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw) {
  conv_run(s, kBwdWeights, x, dy, dw);
}

void batchnorm_forward(int64_t n, int64_t h, int64_t w, int64_t ch, float eps, const float* x,
                       const float* gamma, const float* beta, float* y, float* mean, float* variance) {
  check(n > 0 && h > 0 && w > 0 && ch > 0, "batchNorm: sizes must be positive");
  check(eps >= 0.f, "batchNorm: eps must be >= 0");
  Ctx& c = ctx();
  const Blocks bl(n * h * w);
  const double m = (double)bl.pixels;
  c.sums.resize((size_t)((2 * bl.count + 2) * ch));
  double* part = c.sums.data();  // block b: [sum d | sum d^2] at 2*b*ch, d = x - x[pixel 0]
  double* s1 = part + 2 * bl.count * ch;
  double* s2 = s1 + ch;
  // Sums of deviations from the first pixel rather than of x itself: one
  // pass, and no cancellation when a channel's mean dwarfs its spread.
  // x[pixel 0] is copied first because y may overwrite x.
  std::vector<float> ref(x, x + ch);
  for_chunks(bl.count, c.threads, [&](int64_t b, int) {
    double* p = part + 2 * b * ch;
    block_stats(x, ref.data(), ch, bl.begin(b), bl.end(b), p, p + ch);
  });
  reduce_blocks(part, bl.count, 2 * ch, ch, s1);
  reduce_blocks(part + ch, bl.count, 2 * ch, ch, s2);

  std::vector<float> scale(ch), shift(ch);
  for (int64_t i = 0; i < ch; ++i) {
    const double d = s1[i] / m;
    mean[i] = (float)((double)ref[i] + d);
    variance[i] = (float)std::max(0.0, s2[i] / m - d * d);
    // From the float statistics handed to the caller, as the backward pass
    // (which sees only those) recomputes it.
    const double inv = 1.0 / std::sqrt((double)variance[i] + (double)eps);
    scale[i] = (float)((gamma ? (double)gamma[i] : 1.0) * inv);
    shift[i] = beta ? beta[i] : 0.f;
  }
  // Elementwise: any split gives the same bits.
  for_chunks(bl.count, c.threads, [&](int64_t b, int) {
    block_norm(x, y, ch, bl.begin(b), bl.end(b), mean, scale.data(), shift.data());
  });
}

void batchnorm_backward(int64_t n, int64_t h, int64_t w, int64_t ch, float eps, const float* x,
                        const float* dy, const float* gamma, const float* mean, const float* variance,
                        float* dx, float* dgamma, float* dbeta) {
  check(n > 0 && h > 0 && w > 0 && ch > 0, "batchNorm: sizes must be positive");
  check(dgamma == nullptr || gamma != nullptr, "batchNormBackward: dgamma requires gamma");
  Ctx& c = ctx();
  const Blocks bl(n * h * w);
  const double m = (double)bl.pixels;
  c.sums.resize((size_t)((2 * bl.count + 2) * ch));
  double* part = c.sums.data();  // block b: [sum dy | sum dy*(x-mean)] at 2*b*ch
  double* sdy = part + 2 * bl.count * ch;
  double* sdyx = sdy + ch;
  for_chunks(bl.count, c.threads, [&](int64_t b, int) {
    double* p = part + 2 * b * ch;
    block_dstats(x, dy, mean, ch, bl.begin(b), bl.end(b), p, p + ch);
  });
  reduce_blocks(part, bl.count, 2 * ch, ch, sdy);
  reduce_blocks(part + ch, bl.count, 2 * ch, ch, sdyx);

  // dx = gamma * inv * (dy - mean(dy) - (x - mean) * inv^2 * mean(dy * (x - mean))).
  std::vector<float> k1(ch), k2(ch), k3(ch);
  for (int64_t i = 0; i < ch; ++i) {
    const double inv = 1.0 / std::sqrt((double)variance[i] + (double)eps);
    k1[i] = (float)((gamma ? (double)gamma[i] : 1.0) * inv);
    k2[i] = (float)(sdy[i] / m);
    k3[i] = (float)(inv * inv * sdyx[i] / m);
    if (dgamma) dgamma[i] = (float)(sdyx[i] * inv);
    if (dbeta) dbeta[i] = (float)sdy[i];
  }
  for_chunks(bl.count, c.threads, [&](int64_t b, int) {
    block_dnorm(x, dy, dx, ch, bl.begin(b), bl.end(b), mean, k1.data(), k2.data(), k3.data());
  });
}

// Plain loops rather than oneDNN's eltwise primitive: the op is purely memory bound, the
// loops measured as fast (backward ~20% faster), need no primitive per length, and may run
// in place (y == x, dx == dy; hence no __restrict). NaN propagates forward. Split into
// blocks of kEltBlock elements for the threads (one block, one thread, below that):
// elementwise, so any split gives the same bits.
constexpr int64_t kEltBlock = 1 << 16;

template <typename F>
void for_elements(int64_t len, F&& f) {
  for_chunks((len + kEltBlock - 1) / kEltBlock, ctx().threads,
             [&](int64_t b, int) { f(b * kEltBlock, std::min(len, (b + 1) * kEltBlock)); });
}

void relu_forward(int64_t len, const float* x, float* y) {
  for_elements(len, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      const float v = x[i];
      y[i] = v < 0.f ? 0.f : v;  // NaN stays NaN
    }
  });
}

void relu_backward(int64_t len, const float* x, const float* dy, float* dx) {
  for_elements(len, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      const float g = dy[i];  // unconditional load: lets the loop vectorize as a blend
      dx[i] = x[i] > 0.f ? g : 0.f;
    }
  });
}

// Left to right per element, as a chain of two-input adds would round; three inputs (a
// NAS-Bench-201 cell's last node) read each once instead of writing and re-reading a partial sum.
void add_n(int64_t len, int64_t k, const float* const* xs, float* __restrict y) {
  check(k >= 2, "addN: needs at least 2 inputs");
  const float* x0 = xs[0];
  const float* x1 = xs[1];
  for_elements(len, [&](int64_t i0, int64_t i1) {
    if (k == 3) {
      const float* x2 = xs[2];
#pragma omp simd
      for (int64_t i = i0; i < i1; ++i) y[i] = (x0[i] + x1[i]) + x2[i];
      return;
    }
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) y[i] = x0[i] + x1[i];
    for (int64_t j = 2; j < k; ++j) {
      const float* xj = xs[j];
#pragma omp simd
      for (int64_t i = i0; i < i1; ++i) y[i] += xj[i];
    }
  });
}

void avgpool_forward(const PoolShape& s, const float* x, float* y) {
  if (is_nb201_avgpool(s)) return avgpool3x3_run(s, false, x, y);
  pool_run(s, false, x, y);
}

void avgpool_backward(const PoolShape& s, const float* dy, float* dx) {
  if (is_nb201_avgpool(s)) return avgpool3x3_run(s, true, dy, dx);
  pool_run(s, true, dy, dx);
  // Same cropped-tail rule as the convolution.
  const int64_t prh = (s.oh() - 1) * s.sh + s.kh - s.h - s.pt;
  const int64_t prw = (s.ow() - 1) * s.sw + s.kw - s.w - s.pl;
  if (prh < 0 || prw < 0) {
    ConvShape cs{s.n, s.h, s.w, s.c, s.c, s.kh, s.kw, s.sh, s.sw, s.pt, s.pb, s.pl, s.pr};
    zero_cropped_tail(cs, dx);
  }
}

}  // namespace mfnas
