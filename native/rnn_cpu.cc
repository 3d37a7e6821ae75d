// jaxrnn's native CPU recurrence: one XLA FFI call runs the whole time loop of an LSTM,
// GRU or simple RNN, forward or backward, on the machine's cores.
//
// What runs where (jaxrnn/kernels/_native.py calls these through jax.ffi.ffi_call):
//   before the call (XLA)  xp = x W_ih + b, one matmul for all steps
//   forward (here)         h W_hh + the fused gate math, step by step; the saved values
//                          the backward needs (the cell's `saved`, [S, t, b, h])
//   backward (here)        the cell's step_bwd, step by step: dxp [t, b, G h] and the
//                          initial state's gradients
//   after the call (XLA)   dW_hh = sum_t h_{t-1}^T dxp_t, dW_ih, db, dx: one matmul each
//
// The equations are those of the cells in jaxrnn/kernels/{lstm,gru,simple}.py (`step` and
// `step_bwd`); tests/kernels/test_native.py runs every backend test on this kernel against
// the float64 oracle and against the cells' own step over the whole grid.
//
// Work split. The hidden units are cut into blocks of `ub` units and the batch rows into
// chunks of `mb` rows; one (row chunk, unit block) pair is an item. Per step each item
// multiplies its rows of h by its own panel of W_hh (the columns of every gate of its
// units, packed once per call into one contiguous [h, G ub] panel: OpenBLAS's
// small-matrix path then reads it without copying), applies the gate math to the result
// and writes its units of the new state. The items of a step form a phase (two for the
// GRU's reset-before form, whose candidate needs r * h of every unit; the backward has
// two or three); threads claim items in order from one counter (RunPhases), and an item
// starts only when the phase before it is done. The state is double-buffered so that no
// thread writes what another still reads.
//
// Matmul operands are rounded to the computation dtype (`round`: bfloat16 or float16)
// before each recurrent matmul, as XLA does; products are exact in float32 and summed in
// float32, the carry and gate math stay in the accumulation dtype (float32 or float64).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include "cblas.h"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

extern "C" {
// glibc's libmvec has vector versions of these; declaring them `simd` lets GCC call them
// from the vectorised gate loops without -ffast-math (which would break NaN semantics).
#pragma omp declare simd notinbranch
float expf(float);
#pragma omp declare simd notinbranch
float tanhf(float);
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double tanh(double);
}

namespace {

constexpr int kAbi = 4;  // bumped with every change of the handlers' signatures

enum Cell : int64_t { kLSTM = 0, kGRU = 1, kSimple = 2 };
enum Round : int64_t { kNone = 0, kBF16 = 1, kF16 = 2 };

// --- scalar helpers ---------------------------------------------------------------------

inline float Exp(float x) { return expf(x); }
inline double Exp(double x) { return exp(x); }
inline float Tanh(float x) { return tanhf(x); }
inline double Tanh(double x) { return tanh(x); }

template <typename T>
inline T Sigmoid(T x) {
  return T(1) / (T(1) + Exp(-x));
}

// Rounds to the computation dtype and back (the matmul operand XLA would see).
inline float RoundTo(float x, int64_t mode) {
  if (mode == kBF16) {
    uint32_t bits;
    std::memcpy(&bits, &x, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return x;  // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);              // round to nearest even
    bits &= 0xffff0000u;
    std::memcpy(&x, &bits, 4);
    return x;
  }
  if (mode == kF16) return static_cast<float>(static_cast<_Float16>(x));
  return x;
}
inline double RoundTo(double x, int64_t) { return x; }

// Rounds n values in place (after a vectorised gate loop: rounding inside it would keep
// the loop scalar).
template <typename T>
inline void RoundRow(T* p, int64_t n, int64_t mode) {
  if (mode == kNone) return;
  for (int64_t j = 0; j < n; ++j) p[j] = RoundTo(p[j], mode);
}

// C[m, n] = A[m, k] B[k, n], row-major, leading dimensions lda, ldb, ldc.
inline void Gemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                 float* c, int ldc) {
  scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
                    0.0f, c, ldc);
}
inline void Gemm(int m, int n, int k, const double* a, int lda, const double* b, int ldb,
                 double* c, int ldc) {
  scipy_cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb,
                    0.0, c, ldc);
}

// Cache-line aligned buffers: threads write neighbouring runs of units.
template <typename T>
struct Aligned {
  using value_type = T;
  Aligned() = default;
  template <typename U>
  Aligned(const Aligned<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <typename U>
  bool operator==(const Aligned<U>&) const { return true; }
  template <typename U>
  bool operator!=(const Aligned<U>&) const { return false; }
};
template <typename T>
using Buf = std::vector<T, Aligned<T>>;

// --- threads ----------------------------------------------------------------------------

// The work of one call is a sequence of phases (packing W_hh, then one or more per step)
// of `items` items each; item k of phase q may start once every item of phase q - 1 is
// done. Threads claim (phase, item) pairs from one counter, in order, so the work is
// shared dynamically: a thread the OS deschedules for a while only does fewer items, and
// the others never wait for it except for an item it holds. The team is the caller and
// up to `threads - 1` tasks on XLA's own intra-op thread pool (the threads XLA would run
// other work on, so the cores are not oversubscribed); a task that starts late joins the
// current phase, one that starts after the end leaves at once.
struct Work {
  std::atomic<int64_t> claimed{0};
  std::atomic<int64_t> done{0};
  std::atomic<int> active{0};  // tasks inside the work loop (they read the caller's stack)
};

// Waits until `counter` reaches `target`: spins for a while (a sleep and wake-up costs
// tens of microseconds, a step often less), then sleeps on the counter (a futex).
inline void WaitFor(std::atomic<int64_t>& counter, int64_t target) {
  for (int spins = 0; spins < 4000; ++spins) {
    if (counter.load(std::memory_order_acquire) >= target) return;
    __builtin_ia32_pause();
  }
  for (int64_t now; (now = counter.load(std::memory_order_acquire)) < target;)
    counter.wait(now, std::memory_order_acquire);
}

// Runs fn(phase, item, local) for every phase and item, `local` a per-thread scratch made
// by make_local().
template <typename MakeLocal, typename Fn>
void RunPhases(ffi::ThreadPool& pool, int threads, int64_t phases, int64_t items,
               MakeLocal&& make_local, Fn&& fn) {
  auto work = std::make_shared<Work>();
  const int64_t total = phases * items;
  auto participate = [&] {
    auto local = make_local();
    for (;;) {
      const int64_t c = work->claimed.fetch_add(1, std::memory_order_acq_rel);
      if (c >= total) return;
      const int64_t phase = c / items;
      WaitFor(work->done, phase * items);
      fn(phase, c % items, local);
      if ((work->done.fetch_add(1, std::memory_order_acq_rel) + 1) % items == 0)
        work->done.notify_all();
    }
  };
  if (threads > 1 && pool.num_threads() > 0) {
    for (int i = 1; i < threads; ++i) {
      pool.Schedule([work, total, body = &participate] {
        work->active.fetch_add(1, std::memory_order_acq_rel);
        if (work->claimed.load(std::memory_order_acquire) < total) (*body)();
        work->active.fetch_sub(1, std::memory_order_acq_rel);
      });
    }
  }
  participate();
  WaitFor(work->done, total);
  while (work->active.load(std::memory_order_acquire) > 0) std::this_thread::yield();
}

// --- the shape of one call ----------------------------------------------------------------

struct Shape {
  int64_t T, B, H, G;
  int64_t cell;
  bool reset_after, relu, reverse;
  int64_t round;
  int threads, mb, ub;

  int64_t GH() const { return G * H; }
  int64_t Chunks() const { return (B + mb - 1) / mb; }
  int64_t Blocks() const { return (H + ub - 1) / ub; }
  int64_t Items() const { return Chunks() * Blocks(); }
  // gates multiplied by h itself (phase 1) and by r * h (phase 2, the reset-before GRU)
  int64_t Phase1() const { return (cell == kGRU && !reset_after) ? 2 : G; }
};

struct Item {
  int64_t r0, r1, u0, u1;
};

inline Item ItemAt(const Shape& s, int64_t k) {
  const int64_t chunk = k / s.Blocks(), block = k % s.Blocks();
  return {chunk * s.mb, std::min(s.B, (chunk + 1) * s.mb), block * s.ub,
          std::min(s.H, (block + 1) * s.ub)};
}

// Packs the columns of gates [g0, g1) of w [h, G h] for units [u0, u1) into a contiguous
// panel [h, (g1 - g0) * n], gate-major: panel[k, j * n + u] = w[k, (g0 + j) h + u0 + u].
template <typename T>
void PackPanel(const T* w, const Shape& s, int64_t g0, int64_t g1, int64_t u0, int64_t u1,
               T* panel) {
  const int64_t n = u1 - u0, width = (g1 - g0) * n;
  for (int64_t k = 0; k < s.H; ++k)
    for (int64_t j = 0; j < g1 - g0; ++j)
      std::memcpy(panel + k * width + j * n, w + k * s.GH() + (g0 + j) * s.H + u0,
                  n * sizeof(T));
}

// Packs the transposed rows for units [u0, u1) of gates [g0, g1): panel [(g1 - g0) h, n],
// panel[j h + c, u] = w[u0 + u, (g0 + j) h + c] (the backward's da @ W^T).
template <typename T>
void PackPanelT(const T* w, const Shape& s, int64_t g0, int64_t g1, int64_t u0, int64_t u1,
                T* panel) {
  const int64_t n = u1 - u0;
  for (int64_t c = 0; c < (g1 - g0) * s.H; ++c)
    for (int64_t u = 0; u < n; ++u) panel[c * n + u] = w[(u0 + u) * s.GH() + g0 * s.H + c];
}

// --- forward ------------------------------------------------------------------------------

template <typename T>
struct Fwd {
  const Shape& s;
  const T *xp, *w, *bhn, *c0, *h0;
  const int32_t* len;
  T *ys, *c_out, *h_out, *saved;  // saved: [S, t, b, h] or null

  // Row r of saved value k at step t, or a scratch row when the saved values are not kept
  // (the gate loops then have no branch and vectorise).
  T* SavedRow(int64_t k, int64_t t, int64_t r, T* scratch) const {
    return saved ? saved + ((k * s.T + t) * s.B + r) * s.H : scratch + k * s.H;
  }

  void Run(ffi::ThreadPool& pool) const {
    const int64_t B = s.B, H = s.H, items = s.Items();
    const int64_t p1 = s.Phase1(), p2 = s.G - p1;
    // panels, packed once per call: item block b -> [h, p1 ub] (and [h, p2 ub])
    std::vector<int64_t> off1(s.Blocks() + 1, 0), off2(s.Blocks() + 1, 0);
    for (int64_t b = 0; b < s.Blocks(); ++b) {
      const Item it = ItemAt(s, b);
      off1[b + 1] = off1[b] + H * p1 * (it.u1 - it.u0);
      off2[b + 1] = off2[b] + H * p2 * (it.u1 - it.u0);
    }
    Buf<T> panel1(off1.back()), panel2(off2.back());
    Buf<T> h(2 * B * H), hm(2 * B * H), c(s.cell == kLSTM ? 2 * B * H : 0);
    Buf<T> rh(p2 ? B * H : 0), rz(p2 ? 2 * B * H : 0);
    std::copy(h0, h0 + B * H, h.begin());
    for (int64_t i = 0; i < B * H; ++i) hm[i] = RoundTo(h0[i], s.round);
    if (s.cell == kLSTM) std::copy(c0, c0 + B * H, c.begin());
    // phase 0 packs W_hh (item b: block b); then per step phase 1 (and 2) of the cell
    const int64_t per_step = p2 ? 2 : 1;
    struct Local {
      Buf<T> pre, scratch;
    };
    RunPhases(
        pool, s.threads, 1 + s.T * per_step, items,
        [&] { return Local{Buf<T>(s.mb * s.G * s.ub), Buf<T>(saved ? 0 : 5 * H)}; },
        [&](int64_t phase, int64_t k, Local& local) {
          const Item it = ItemAt(s, k);
          const int64_t blk = k % s.Blocks();
          if (phase == 0) {
            if (k < s.Blocks()) {
              PackPanel(w, s, 0, p1, it.u0, it.u1, panel1.data() + off1[blk]);
              if (p2) PackPanel(w, s, p1, s.G, it.u0, it.u1, panel2.data() + off2[blk]);
            }
            return;
          }
          const int64_t step = (phase - 1) / per_step, sub = (phase - 1) % per_step;
          const int64_t t = s.reverse ? s.T - 1 - step : step;
          const int64_t cur = (step & 1) * B * H, nxt = B * H - cur;
          const int64_t n = it.u1 - it.u0, rows = it.r1 - it.r0;
          T* pre = local.pre.data();
          if (sub == 0) {
            Gemm(rows, p1 * n, H, hm.data() + cur + it.r0 * H, H, panel1.data() + off1[blk],
                 p1 * n, pre, p1 * n);
            Phase1(t, it, pre, h.data() + cur, h.data() + nxt,
                   c.empty() ? nullptr : c.data() + cur, c.empty() ? nullptr : c.data() + nxt,
                   hm.data() + nxt, rh.data(), rz.data(), local.scratch.data());
          } else {  // the reset-before GRU's candidate, once r * h of every unit is known
            Gemm(rows, n, H, rh.data() + it.r0 * H, H, panel2.data() + off2[blk], n, pre, n);
            Phase2(t, it, pre, h.data() + cur, h.data() + nxt, hm.data() + nxt, rz.data(),
                   local.scratch.data());
          }
        });
    const int64_t fin = (s.T & 1) * B * H;
    std::copy(h.begin() + fin, h.begin() + fin + B * H, h_out);
    if (s.cell == kLSTM) std::copy(c.begin() + fin, c.begin() + fin + B * H, c_out);
  }

  // The gate math of one item after its recurrent matmul `pre [rows, p1 n]`.
  void Phase1(int64_t t, const Item& it, const T* pre, const T* h, T* h_new, const T* c,
              T* c_new, T* hm_new, T* rh, T* rz, T* scratch) const {
    const int64_t H = s.H, n = it.u1 - it.u0, width = s.Phase1() * n, u0 = it.u0;
    const bool relu = s.relu;
    for (int64_t r = it.r0; r < it.r1; ++r) {
      const bool valid = t < len[r];
      const T* __restrict x = xp + (t * s.B + r) * s.GH() + u0;
      const T* __restrict a = pre + (r - it.r0) * width;
      T* __restrict y = ys + (t * s.B + r) * H + u0;
      const T* __restrict hp = h + r * H + u0;
      T* __restrict hn = h_new + r * H + u0;
      T* s0 = SavedRow(0, t, r, scratch) + u0;
      T* s1 = SavedRow(1, t, r, scratch) + u0;
      T* s2 = SavedRow(2, t, r, scratch) + u0;
      T* s3 = SavedRow(3, t, r, scratch) + u0;
      if (s.cell == kLSTM) {
        T* s4 = SavedRow(4, t, r, scratch) + u0;
        const T* __restrict cp = c + r * H + u0;
        T* __restrict cn_ = c_new + r * H + u0;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T i = Sigmoid(x[j] + a[j]);
          const T f = Sigmoid(x[H + j] + a[n + j]);
          const T g = Tanh(x[2 * H + j] + a[2 * n + j]);
          const T o = Sigmoid(x[3 * H + j] + a[3 * n + j]);
          const T cn = f * cp[j] + i * g;
          const T hv = o * Tanh(cn);
          s0[j] = i;
          s1[j] = f;
          s2[j] = g;
          s3[j] = o;
          s4[j] = cn;
          cn_[j] = valid ? cn : cp[j];
          hn[j] = valid ? hv : hp[j];
          y[j] = valid ? hv : T(0);
        }
      } else if (s.cell == kGRU && s.reset_after) {
        const T* __restrict b = bhn + u0;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T r_ = Sigmoid(x[j] + a[j]);
          const T z = Sigmoid(x[H + j] + a[n + j]);
          const T hn_ = a[2 * n + j] + b[j];
          const T nn = Tanh(x[2 * H + j] + r_ * hn_);
          const T hv = (T(1) - z) * nn + z * hp[j];
          s0[j] = r_;
          s1[j] = z;
          s2[j] = nn;
          s3[j] = hn_;
          hn[j] = valid ? hv : hp[j];
          y[j] = valid ? hv : T(0);
        }
      } else if (s.cell == kGRU) {  // reset before: r and z now, the candidate in Phase2
        T* __restrict rr = rz + 2 * r * H + u0;
        T* __restrict zz = rz + 2 * r * H + H + u0;
        T* __restrict rhh = rh + r * H + u0;
        const int64_t mode = s.round;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          rr[j] = Sigmoid(x[j] + a[j]);
          zz[j] = Sigmoid(x[H + j] + a[n + j]);
          rhh[j] = rr[j] * hp[j];
        }
        RoundRow(rhh, n, mode);
        continue;  // hm is written in Phase2
      } else {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T v = x[j] + a[j];
          const T hv = relu ? (v > T(0) ? v : T(0)) : Tanh(v);
          hn[j] = valid ? hv : hp[j];
          y[j] = valid ? hv : T(0);
        }
      }
      const int64_t row = r * H;
      std::copy(h_new + row + it.u0, h_new + row + it.u1, hm_new + row + it.u0);
      RoundRow(hm_new + row + it.u0, it.u1 - it.u0, s.round);
    }
  }

  // The reset-before GRU's candidate, after (r * h) W_hn: `pre [rows, n]`.
  void Phase2(int64_t t, const Item& it, const T* pre, const T* h, T* h_new, T* hm_new,
              const T* rz, T* scratch) const {
    const int64_t H = s.H, n = it.u1 - it.u0, u0 = it.u0;
    for (int64_t r = it.r0; r < it.r1; ++r) {
      const bool valid = t < len[r];
      const T* __restrict x = xp + (t * s.B + r) * s.GH() + 2 * H + u0;
      const T* __restrict a = pre + (r - it.r0) * n;
      T* __restrict y = ys + (t * s.B + r) * H + u0;
      const T* __restrict hp = h + r * H + u0;
      T* __restrict hn = h_new + r * H + u0;
      const T* __restrict rr = rz + 2 * r * H + u0;
      const T* __restrict zz = rz + 2 * r * H + H + u0;
      const T* __restrict b = bhn + u0;
      T* s0 = SavedRow(0, t, r, scratch) + u0;
      T* s1 = SavedRow(1, t, r, scratch) + u0;
      T* s2 = SavedRow(2, t, r, scratch) + u0;
      const int64_t row = r * H;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        const T nn = Tanh(x[j] + a[j] + b[j]);
        const T hv = (T(1) - zz[j]) * nn + zz[j] * hp[j];
        s0[j] = rr[j];
        s1[j] = zz[j];
        s2[j] = nn;
        hn[j] = valid ? hv : hp[j];
        y[j] = valid ? hv : T(0);
      }
      std::copy(h_new + row + it.u0, h_new + row + it.u1, hm_new + row + it.u0);
      RoundRow(hm_new + row + it.u0, it.u1 - it.u0, s.round);
    }
  }
};

// --- backward -----------------------------------------------------------------------------

template <typename T>
struct Bwd {
  const Shape& s;
  const T *w, *saved, *prev_c, *prev_h, *ys, *dys, *dc_in, *dh_in;
  const T* dsaved;  // cotangents of the saved values (trace mode), [S, t, b, h], or null
  const int32_t* len;
  T *dxp, *dc_out, *dh_out;

  void Run(ffi::ThreadPool& pool) const {
    const int64_t B = s.B, H = s.H, GH = s.GH(), items = s.Items();
    const bool before = s.cell == kGRU && !s.reset_after;
    // gemm A: the gates whose gradient reaches h through W^T directly (all of them, or r
    // and z for the reset-before GRU); gemm N: the reset-before GRU's candidate, whose
    // gradient reaches r * h first.
    const int64_t ga = before ? 2 : s.G;
    std::vector<int64_t> offa(s.Blocks() + 1, 0), offn(s.Blocks() + 1, 0);
    for (int64_t b = 0; b < s.Blocks(); ++b) {
      const Item it = ItemAt(s, b);
      offa[b + 1] = offa[b] + ga * H * (it.u1 - it.u0);
      offn[b + 1] = offn[b] + (before ? H * (it.u1 - it.u0) : 0);
    }
    Buf<T> panela(offa.back()), paneln(offn.back());
    Buf<T> dh(dh_in, dh_in + B * H), dc(s.cell == kLSTM ? B * H : 0);
    if (s.cell == kLSTM) std::copy(dc_in, dc_in + B * H, dc.begin());
    Buf<T> part(B * H), dam(2 * B * GH);
    // phase 0 packs W_hh^T; then per step: the elementwise part of step_bwd, (the reset
    // gate's, after d(r h) = da_n W_hn^T, for the reset-before GRU,) and dh = part + da W^T
    const int64_t per_step = before ? 3 : 2;
    struct Local {
      Buf<T> out, zeros;
    };
    RunPhases(
        pool, s.threads, 1 + s.T * per_step, items,
        [&] { return Local{Buf<T>(s.mb * s.ub), Buf<T>(dsaved ? 0 : H)}; },
        [&](int64_t phase, int64_t k, Local& local) {
          const Item it = ItemAt(s, k);
          const int64_t blk = k % s.Blocks();
          if (phase == 0) {
            if (k < s.Blocks()) {
              PackPanelT(w, s, 0, ga, it.u0, it.u1, panela.data() + offa[blk]);
              if (before) PackPanelT(w, s, 2, 3, it.u0, it.u1, paneln.data() + offn[blk]);
            }
            return;
          }
          const int64_t step = (phase - 1) / per_step, sub = (phase - 1) % per_step;
          const int64_t t = s.reverse ? step : s.T - 1 - step;
          T* da = dam.data() + (step & 1) * B * GH;
          const int64_t n = it.u1 - it.u0, rows = it.r1 - it.r0;
          T* out = local.out.data();
          if (sub == 0) {
            Elementwise(t, it, dh, dc, part, da, local.zeros.data());
          } else if (sub == 1 && before) {
            Gemm(rows, n, H, da + it.r0 * GH + 2 * H, GH, paneln.data() + offn[blk], n, out, n);
            ResetGate(t, it, out, part, da, local.zeros.data());
          } else {
            Gemm(rows, n, ga * H, da + it.r0 * GH, GH, panela.data() + offa[blk], n, out, n);
            for (int64_t r = it.r0; r < it.r1; ++r)
              for (int64_t u = it.u0; u < it.u1; ++u)
                dh[r * H + u] = part[r * H + u] + out[(r - it.r0) * n + u - it.u0];
          }
        });
    std::copy(dh.begin(), dh.end(), dh_out);
    if (s.cell == kLSTM) std::copy(dc.begin(), dc.end(), dc_out);
  }

  const T* Row(int64_t k, int64_t t, int64_t r, int64_t u0) const {
    return saved + ((k * s.T + t) * s.B + r) * s.H + u0;
  }
  // The cotangent of saved value k (a gate the trace exposes), or a row of zeros.
  const T* DRow(int64_t k, int64_t t, int64_t r, int64_t u0, const T* zeros) const {
    return dsaved ? dsaved + ((k * s.T + t) * s.B + r) * s.H + u0 : zeros;
  }

  // step_bwd's elementwise part for one item: dxp[t] (its units of every gate), the
  // rounded matmul operand `da`, the part of dh_prev that skips W^T (`part`), and dc.
  void Elementwise(int64_t t, const Item& it, Buf<T>& dh_, Buf<T>& dc_, Buf<T>& part_,
                   T* da, const T* zeros) const {
    const int64_t H = s.H, GH = s.GH(), n = it.u1 - it.u0, u0 = it.u0, mode = s.round;
    const bool relu = s.relu, after = s.reset_after;
    for (int64_t r = it.r0; r < it.r1; ++r) {
      const int64_t at = (t * s.B + r) * H + u0;
      T* __restrict dx = dxp + (t * s.B + r) * GH + u0;
      T* __restrict dm = da + r * GH + u0;
      T* __restrict dh = dh_.data() + r * H + u0;
      T* __restrict part = part_.data() + r * H + u0;
      const T* __restrict dy = dys + at;
      if (!(t < len[r])) {  // a padded step passed the state through untouched
        for (int64_t g = 0; g < s.G; ++g)
          for (int64_t j = 0; j < n; ++j) dx[g * H + j] = dm[g * H + j] = T(0);
        for (int64_t j = 0; j < n; ++j) part[j] = dh[j];
        continue;
      }
      if (s.cell == kLSTM) {
        const T *__restrict si = Row(0, t, r, u0), *__restrict sf = Row(1, t, r, u0);
        const T *__restrict sg = Row(2, t, r, u0), *__restrict so = Row(3, t, r, u0);
        const T* __restrict sc = Row(4, t, r, u0);
        const T* __restrict cp = prev_c + at;
        T* __restrict dc = dc_.data() + r * H + u0;
        const T *__restrict ti = DRow(0, t, r, u0, zeros), *__restrict tf = DRow(1, t, r, u0, zeros);
        const T *__restrict tg = DRow(2, t, r, u0, zeros), *__restrict to = DRow(3, t, r, u0, zeros);
        const T* __restrict tcn = DRow(4, t, r, u0, zeros);
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T i = si[j], f = sf[j], g = sg[j], o = so[j];
          const T dht = dh[j] + dy[j];
          const T tc = Tanh(sc[j]);
          const T dcn = dc[j] + dht * o * (T(1) - tc * tc) + tcn[j];
          const T di = (dcn * g + ti[j]) * i * (T(1) - i);
          const T df = (dcn * cp[j] + tf[j]) * f * (T(1) - f);
          const T dg = (dcn * i + tg[j]) * (T(1) - g * g);
          const T dout = (dht * tc + to[j]) * o * (T(1) - o);
          dx[j] = di;
          dx[H + j] = df;
          dx[2 * H + j] = dg;
          dx[3 * H + j] = dout;
          dm[j] = di;
          dm[H + j] = df;
          dm[2 * H + j] = dg;
          dm[3 * H + j] = dout;
          dc[j] = dcn * f;
          part[j] = T(0);
        }
        for (int64_t g = 0; g < 4; ++g) RoundRow(dm + g * H, n, mode);
      } else if (s.cell == kGRU) {
        const T *__restrict sr = Row(0, t, r, u0), *__restrict sz = Row(1, t, r, u0);
        const T *__restrict sn = Row(2, t, r, u0), *__restrict sh = Row(after ? 3 : 0, t, r, u0);
        const T* __restrict hp = prev_h + at;
        // (no cotangent for h_n: the trace does not expose it)
        const T *__restrict tr = DRow(0, t, r, u0, zeros), *__restrict tz = DRow(1, t, r, u0, zeros);
        const T* __restrict tn = DRow(2, t, r, u0, zeros);
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T r_ = sr[j], z = sz[j], nn = sn[j];
          const T dht = dh[j] + dy[j];
          const T dan = (dht * (T(1) - z) + tn[j]) * (T(1) - nn * nn);
          const T daz = (dht * (hp[j] - nn) + tz[j]) * z * (T(1) - z);
          const T dar = (dan * sh[j] + tr[j]) * r_ * (T(1) - r_);  // reset after only
          dx[H + j] = daz;
          dx[2 * H + j] = dan;
          dm[H + j] = daz;
          part[j] = dht * z;
          dx[j] = after ? dar : T(0);
          dm[j] = after ? dar : T(0);
          // reset after: the gradient of h W_hn + b_hn; before: of r h (da_r waits for it)
          dm[2 * H + j] = after ? dan * r_ : dan;
        }
        for (int64_t g = 0; g < 3; ++g) RoundRow(dm + g * H, n, mode);
      } else {
        const T* __restrict yv = ys + at;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          const T y = yv[j];
          const T dht = dh[j] + dy[j];
          const T d = relu ? (y > T(0) ? dht : T(0)) : dht * (T(1) - y * y);
          dx[j] = d;
          dm[j] = d;
          part[j] = T(0);
        }
        RoundRow(dm, n, mode);
      }
    }
  }

  // The reset-before GRU: da_r from d(r h) = da_n W_hn^T (`drh [rows, n]`).
  void ResetGate(int64_t t, const Item& it, const T* drh, Buf<T>& part_, T* da,
                 const T* zeros) const {
    const int64_t H = s.H, GH = s.GH(), n = it.u1 - it.u0, u0 = it.u0, mode = s.round;
    for (int64_t r = it.r0; r < it.r1; ++r) {
      if (!(t < len[r])) continue;
      const int64_t at = (t * s.B + r) * H + u0;
      T* __restrict dx = dxp + (t * s.B + r) * GH + u0;
      T* __restrict dm = da + r * GH + u0;
      T* __restrict part = part_.data() + r * H + u0;
      const T* __restrict d = drh + (r - it.r0) * n;
      const T* __restrict sr = Row(0, t, r, u0);
      const T* __restrict tr = DRow(0, t, r, u0, zeros);
      const T* __restrict hp = prev_h + at;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) {
        const T dar = (d[j] * hp[j] + tr[j]) * sr[j] * (T(1) - sr[j]);
        dx[j] = dar;
        dm[j] = dar;
        part[j] += d[j] * sr[j];
      }
      RoundRow(dm, n, mode);
    }
  }
};

// --- the FFI handlers ---------------------------------------------------------------------

ffi::Error CheckShape(const Shape& s) {
  if (s.cell < 0 || s.cell > 2) return ffi::Error::InvalidArgument("unknown cell");
  if (s.threads < 1 || s.mb < 1 || s.ub < 1)
    return ffi::Error::InvalidArgument("threads, mb and ub must be >= 1");
  return ffi::Error::Success();
}

Shape MakeShape(const ffi::AnyBuffer& xp, int64_t hidden, int64_t cell, bool reset_after,
                bool relu, bool reverse, int64_t round, int64_t threads, int64_t mb,
                int64_t ub) {
  auto d = xp.dimensions();
  Shape s{d[0], d[1], hidden, hidden ? d[2] / hidden : 1, cell, reset_after, relu, reverse,
          round, static_cast<int>(threads), static_cast<int>(mb), static_cast<int>(ub)};
  s.threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(s.threads, s.Items())));
  return s;
}

template <typename T>
T* Data(ffi::AnyBuffer b) {
  return reinterpret_cast<T*>(b.untyped_data());
}
template <typename T>
T* Data(ffi::Result<ffi::AnyBuffer> b) {
  return reinterpret_cast<T*>(b->untyped_data());
}

ffi::Error ForwardImpl(ffi::AnyBuffer xp, ffi::AnyBuffer w, ffi::AnyBuffer bhn,
                       ffi::AnyBuffer c0, ffi::AnyBuffer h0, ffi::Buffer<ffi::S32> lengths,
                       ffi::Result<ffi::AnyBuffer> ys, ffi::Result<ffi::AnyBuffer> c_out,
                       ffi::Result<ffi::AnyBuffer> h_out, ffi::Result<ffi::AnyBuffer> saved,
                       ffi::ThreadPool pool, int64_t cell, bool reset_after, bool relu,
                       bool reverse, int64_t round, int64_t threads, int64_t mb, int64_t ub) {
  const int64_t hidden = w.dimensions()[0];
  const Shape s = MakeShape(xp, hidden, cell, reset_after, relu, reverse, round, threads, mb, ub);
  if (auto err = CheckShape(s); !err.success()) return err;
  if (s.T == 0 || s.B == 0 || s.H == 0) return ffi::Error::Success();
  const bool keep = saved->element_count() > 0;
  if (xp.element_type() == ffi::F32) {
    Fwd<float>{s, Data<float>(xp), Data<float>(w), Data<float>(bhn), Data<float>(c0),
               Data<float>(h0), lengths.typed_data(), Data<float>(ys), Data<float>(c_out),
               Data<float>(h_out), keep ? Data<float>(saved) : nullptr}
        .Run(pool);
  } else if (xp.element_type() == ffi::F64) {
    Fwd<double>{s, Data<double>(xp), Data<double>(w), Data<double>(bhn), Data<double>(c0),
                Data<double>(h0), lengths.typed_data(), Data<double>(ys), Data<double>(c_out),
                Data<double>(h_out), keep ? Data<double>(saved) : nullptr}
        .Run(pool);
  } else {
    return ffi::Error::InvalidArgument("jaxrnn native: float32 or float64 accumulation only");
  }
  return ffi::Error::Success();
}

ffi::Error BackwardImpl(ffi::AnyBuffer w, ffi::AnyBuffer saved, ffi::AnyBuffer prev_c,
                        ffi::AnyBuffer prev_h, ffi::AnyBuffer ys, ffi::AnyBuffer dys,
                        ffi::Buffer<ffi::S32> lengths, ffi::AnyBuffer dc, ffi::AnyBuffer dh,
                        ffi::AnyBuffer dsaved, ffi::Result<ffi::AnyBuffer> dxp, ffi::Result<ffi::AnyBuffer> dc_out,
                        ffi::Result<ffi::AnyBuffer> dh_out, ffi::ThreadPool pool, int64_t cell,
                        bool reset_after, bool relu, bool reverse, int64_t round,
                        int64_t threads, int64_t mb, int64_t ub) {
  const int64_t hidden = w.dimensions()[0];
  const Shape s =
      MakeShape(*dxp, hidden, cell, reset_after, relu, reverse, round, threads, mb, ub);
  if (auto err = CheckShape(s); !err.success()) return err;
  if (s.T == 0 || s.B == 0 || s.H == 0) {
    if (s.B > 0 && s.H > 0) {
      std::memcpy(dh_out->untyped_data(), dh.untyped_data(), dh.size_bytes());
      std::memcpy(dc_out->untyped_data(), dc.untyped_data(), dc.size_bytes());
    }
    return ffi::Error::Success();
  }
  const bool traced = dsaved.element_count() > 0;
  if (w.element_type() == ffi::F32) {
    Bwd<float>{s, Data<float>(w), Data<float>(saved), Data<float>(prev_c), Data<float>(prev_h),
               Data<float>(ys), Data<float>(dys), Data<float>(dc), Data<float>(dh),
               traced ? Data<float>(dsaved) : nullptr, lengths.typed_data(), Data<float>(dxp), Data<float>(dc_out), Data<float>(dh_out)}
        .Run(pool);
  } else if (w.element_type() == ffi::F64) {
    Bwd<double>{s, Data<double>(w), Data<double>(saved), Data<double>(prev_c),
                Data<double>(prev_h), Data<double>(ys), Data<double>(dys), Data<double>(dc),
                Data<double>(dh), traced ? Data<double>(dsaved) : nullptr, lengths.typed_data(), Data<double>(dxp), Data<double>(dc_out),
                Data<double>(dh_out)}
        .Run(pool);
  } else {
    return ffi::Error::InvalidArgument("jaxrnn native: float32 or float64 accumulation only");
  }
  return ffi::Error::Success();
}

}  // namespace

#pragma GCC visibility push(default)
XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxrnnForward, ForwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()          // xp [t, b, G h]
                                  .Arg<ffi::AnyBuffer>()          // W_hh [h, G h]
                                  .Arg<ffi::AnyBuffer>()          // b_hn [h]
                                  .Arg<ffi::AnyBuffer>()          // c0 [b, h]
                                  .Arg<ffi::AnyBuffer>()          // h0 [b, h]
                                  .Arg<ffi::Buffer<ffi::S32>>()   // lengths [b]
                                  .Ret<ffi::AnyBuffer>()          // ys [t, b, h]
                                  .Ret<ffi::AnyBuffer>()          // c [b, h]
                                  .Ret<ffi::AnyBuffer>()          // h [b, h]
                                  .Ret<ffi::AnyBuffer>()          // saved [S, t, b, h]
                                  .Ctx<ffi::ThreadPool>()
                                  .Attr<int64_t>("cell")
                                  .Attr<bool>("reset_after")
                                  .Attr<bool>("relu")
                                  .Attr<bool>("reverse")
                                  .Attr<int64_t>("round")
                                  .Attr<int64_t>("threads")
                                  .Attr<int64_t>("mb")
                                  .Attr<int64_t>("ub"));

XLA_FFI_DEFINE_HANDLER_SYMBOL(JaxrnnBackward, BackwardImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()          // W_hh [h, G h]
                                  .Arg<ffi::AnyBuffer>()          // saved [S, t, b, h]
                                  .Arg<ffi::AnyBuffer>()          // c_{t-1} [t, b, h]
                                  .Arg<ffi::AnyBuffer>()          // h_{t-1} [t, b, h]
                                  .Arg<ffi::AnyBuffer>()          // ys [t, b, h]
                                  .Arg<ffi::AnyBuffer>()          // dys [t, b, h]
                                  .Arg<ffi::Buffer<ffi::S32>>()   // lengths [b]
                                  .Arg<ffi::AnyBuffer>()          // dc [b, h]
                                  .Arg<ffi::AnyBuffer>()          // dh [b, h]
                                  .Arg<ffi::AnyBuffer>()          // dsaved [S, t, b, h] or [0]
                                  .Ret<ffi::AnyBuffer>()          // dxp [t, b, G h]
                                  .Ret<ffi::AnyBuffer>()          // dc0 [b, h]
                                  .Ret<ffi::AnyBuffer>()          // dh0 [b, h]
                                  .Ctx<ffi::ThreadPool>()
                                  .Attr<int64_t>("cell")
                                  .Attr<bool>("reset_after")
                                  .Attr<bool>("relu")
                                  .Attr<bool>("reverse")
                                  .Attr<int64_t>("round")
                                  .Attr<int64_t>("threads")
                                  .Attr<int64_t>("mb")
                                  .Attr<int64_t>("ub"));

#pragma GCC visibility pop

extern "C" {
__attribute__((visibility("default"))) int jaxrnn_native_abi() { return kAbi; }
// OpenBLAS runs single-threaded inside each of our threads (set once at load time).
__attribute__((visibility("default"))) void jaxrnn_native_init() {
  scipy_openblas_set_num_threads(1);
}
}
