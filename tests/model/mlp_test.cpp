// MLP score model: agreement with PyTorch, derivatives against finite differences,
// determinism across batches and threads, and the weight file loader.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <random>
#include <string>

#include "dlogp/core/parallel_chunks.hpp"
#include "dlogp/divergence/divergence.hpp"
#include "dlogp/io/mlp_weights.hpp"
#include "dlogp/model/mlp.hpp"
#include "dlogp/process/vp.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

const std::string data_dir = std::string(DLOGP_SOURCE_DIR) + "/examples/patches/data/";

template <class S>
double max_abs(const dlogp::matrix<S>& a) {
  double m = 0;
  for (long k = 0; k < a.size(); ++k) m = std::max(m, std::abs(double(a.data()[k])));
  return m;
}
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  double m = 0;
  for (long k = 0; k < a.size(); ++k)
    m = std::max(m, std::abs(double(a.data()[k]) - double(b.data()[k])));
  return m;
}

/// A small random network (weights ~ N(0, 1/fan_in) so activations stay O(1)).
/// `full` adds every optional part: time-dependent gains, residual layers, the linear skip.
template <class S>
dlogp::mlp<S> random_mlp(long D, long H, long L, bool full = false, long E = 8, long Tw = 6,
                         unsigned seed = 7) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n01;
  auto mat = [&](long r, long c) {
    dlogp::matrix<S> m(r, c);
    for (long k = 0; k < m.size(); ++k) m.data()[k] = S(n01(g) / std::sqrt(double(c)));
    return m;
  };
  auto vec = [&](long r) {
    dlogp::vector<S> v(r);
    for (long k = 0; k < r; ++k) v(k) = S(0.3 * n01(g));
    return v;
  };
  dlogp::mlp_parameters<S> p;
  p.embedding = {E, 100.0, 1000.0};
  p.time_weight = mat(Tw, E);
  p.time_bias = vec(Tw);
  long in = D;
  for (long l = 0; l < L; ++l) {
    p.hidden.push_back({mat(H, in), vec(H), mat(H, Tw)});
    if (full) {
      p.hidden.back().time_scale = mat(H, Tw);
      p.hidden.back().residual = in == H;
    }
    in = H;
  }
  p.out_weight = mat(D, H);
  p.out_bias = vec(D);
  if (full) {
    p.out_time_scale = mat(D, Tw);
    p.skip_weight = mat(D, D);
    p.base.mean = vec(D);
    p.base.eigvecs = mat(D, D);
    p.base.eigvals = vec(D).cwiseAbs();
  }
  return dlogp::mlp<S>(std::move(p));
}

template <class S>
dlogp::matrix<S> random_matrix(long r, long c, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<double> n01;
  dlogp::matrix<S> m(r, c);
  for (long k = 0; k < m.size(); ++k) m.data()[k] = S(n01(g));
  return m;
}

/// Rows of a [n, D] reference tensor as the columns of a D x n matrix.
template <class S>
dlogp::matrix<S> columns(const dlogp::tensor_file& f, const std::string& name) {
  return f.at(name).as_matrix<S>(name).transpose();
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("dlogp_mlp_test_" + name)).string();
}

}  // namespace

TEST_CASE("mlp: float64 evaluation agrees with PyTorch on fixed inputs", "[ground-truth]") {
  const auto model = dlogp::load_mlp<double>(data_dir + "model.safetensors");
  const auto ref = dlogp::read_tensor_file(data_dir + "reference.safetensors");
  const auto X = columns<double>(ref, "x"), V = columns<double>(ref, "v");
  const auto out = columns<double>(ref, "out_f64"), jvp = columns<double>(ref, "jvp_f64");
  const auto t = ref.at("t").values<double>();
  const auto tr = ref.at("trace_f64").values<double>();
  REQUIRE(model.kind == dlogp::parametrisation::epsilon);
  REQUIRE(model.network.dimension() == 256);
  dlogp::matrix<double> o, j;
  dlogp::vector<double> trace;
  for (long c = 0; c < X.cols(); ++c) {
    INFO("t = " << t[std::size_t(c)]);
    const dlogp::matrix<double> x = X.col(c), v = V.col(c);
    // Same weights, same operations, different summation orders: the differences are a few
    // ulps of the accumulated magnitudes (sums of ~300 terms of size O(1)), far below 1e-12.
    model.network.evaluate(t[std::size_t(c)], x, o);
    const dlogp::matrix<double> oref = out.col(c), jref = jvp.col(c);
    CHECK(max_abs_diff(o, oref) <= 1e-12 * max_abs(oref));
    model.network.evaluate_jvp(t[std::size_t(c)], x, v, o, j);
    CHECK(max_abs_diff(j, jref) <= 1e-12 * max_abs(jref));
    model.network.evaluate_and_trace(t[std::size_t(c)], x, o, trace);
    // The trace sums 256 diagonal entries each O(1): compare against that scale.
    CHECK(std::abs(trace(0) - tr[std::size_t(c)]) <= 1e-12 * 256.0);
  }
}

TEST_CASE("mlp: float32 evaluation agrees with PyTorch on fixed inputs", "[ground-truth]") {
  const auto model = dlogp::load_mlp<float>(data_dir + "model.safetensors");
  const auto model64 = dlogp::load_mlp<double>(data_dir + "model.safetensors");
  const auto ref = dlogp::read_tensor_file(data_dir + "reference.safetensors");
  const auto X = columns<float>(ref, "x_f32"), out = columns<float>(ref, "out_f32");
  const auto scale = columns<double>(ref, "out_scale_f64");
  const auto t = ref.at("t").values<double>();
  dlogp::matrix<float> o;
  dlogp::matrix<double> truth;
  for (long c = 0; c < X.cols(); ++c) {
    INFO("t = " << t[std::size_t(c)]);
    const dlogp::matrix<float> x = X.col(c), oref = out.col(c);
    model.network.evaluate(t[std::size_t(c)], x, o);
    // The bound, relative to the output (max norm over its 256 entries). Measured:
    // 3.9e-6 at t = 1e-3, where the output is ~5600x smaller than the terms the output layer
    // sums, and <= 1.1e-6 from t = 0.01 on; PyTorch's own float32 is 6.3e-6 from float64 there.
    CHECK(max_abs_diff(o, oref) <= 1e-5 * max_abs(oref));
    // Float rounding scales with the magnitude the output layer accumulates, |W_o| |h_L| +
    // |b_o| (exported by PyTorch): relative to it, K = 256-term sums in float give
    // ~sqrt(K) eps32 = 1e-6, so the same bound holds there with a wide margin.
    CHECK(max_abs_diff(o, oref) <= 1e-5 * max_abs(dlogp::matrix<double>(scale.col(c))));
    // And our float32 is no less accurate than PyTorch's (truth: float64 on the same input).
    model64.network.evaluate(t[std::size_t(c)], dlogp::matrix<double>(x.cast<double>()), truth);
    CHECK(max_abs_diff(o, truth) <= 2 * max_abs_diff(oref, truth));
  }
}

TEST_CASE("mlp: JVP matches central finite differences", "[unit]") {
  // Tiny network, and the trained one. The central difference has error C h^2 + O(eps/h);
  // with d(h) = fd(h) - jvp, fd(2h) - fd(h) = 3 C h^2 + ..., so |d(h)| <= |fd(2h) - fd(h)|
  // holds with a factor 3 to spare once truncation dominates rounding; a wrong JVP gives an
  // O(1) d(h) and fails.
  auto check_model = [](const auto& net, const dlogp::matrix<double>& X,
                        const dlogp::matrix<double>& V, double t) {
    dlogp::matrix<double> o, jv, op, om, op2, om2;
    net.evaluate_jvp(t, X, V, o, jv);
    const double h = 1e-4;
    net.evaluate(t, dlogp::matrix<double>(X + h * V), op);
    net.evaluate(t, dlogp::matrix<double>(X - h * V), om);
    net.evaluate(t, dlogp::matrix<double>(X + 2 * h * V), op2);
    net.evaluate(t, dlogp::matrix<double>(X - 2 * h * V), om2);
    const dlogp::matrix<double> fd = (op - om) / (2 * h), fd2 = (op2 - om2) / (4 * h);
    const double rounding = 10 * std::numeric_limits<double>::epsilon() * max_abs(o) / h;
    CHECK(max_abs_diff(fd, jv) <= max_abs_diff(fd2, fd) + rounding);
    CHECK(max_abs_diff(fd, jv) <= 1e-6 * max_abs(jv));  // and it is small in absolute terms
  };
  const auto tiny = random_mlp<double>(5, 9, 3);
  check_model(tiny, random_matrix<double>(5, 3, 1), random_matrix<double>(5, 3, 2), 0.3);
  // With gains, residual layers (the first one too: width = D) and the skip.
  const auto full = random_mlp<double>(6, 6, 3, true);
  check_model(full, random_matrix<double>(6, 3, 1), random_matrix<double>(6, 3, 2), 0.3);
  const auto model = dlogp::load_mlp<double>(data_dir + "model.safetensors");
  check_model(model.network, 0.5 * random_matrix<double>(256, 2, 3),
              random_matrix<double>(256, 2, 4), 0.05);
}

TEST_CASE("mlp: exact divergence matches finite differences and D JVPs", "[unit]") {
  const auto loaded = dlogp::load_mlp<double>(data_dir + "model.safetensors");
  const auto model = loaded.score_model();
  const long D = model.dimension();
  const dlogp::matrix<double> X = 0.5 * random_matrix<double>(D, 2, 5);
  for (double t : {0.01, 0.2, 0.8}) {
    INFO("t = " << t);
    dlogp::matrix<double> s, sp, sm, sp2, sm2;
    dlogp::vector<double> lap;
    model.score_and_laplacian(t, X, s, lap);
    // Central differences along every coordinate, at h and 2h (see the JVP test for the bound).
    const double h = 1e-4;
    dlogp::vector<double> fd = dlogp::vector<double>::Zero(2), fd2 = fd;
    dlogp::matrix<double> Xp = X, Xm = X, Xp2 = X, Xm2 = X;
    for (long i = 0; i < D; ++i) {
      Xp.row(i).array() += h;
      Xm.row(i).array() -= h;
      Xp2.row(i).array() += 2 * h;
      Xm2.row(i).array() -= 2 * h;
      model.score(t, Xp, sp);
      model.score(t, Xm, sm);
      model.score(t, Xp2, sp2);
      model.score(t, Xm2, sm2);
      for (long j = 0; j < 2; ++j) {
        fd(j) += (sp(i, j) - sm(i, j)) / (2 * h);
        fd2(j) += (sp2(i, j) - sm2(i, j)) / (4 * h);
      }
      Xp.row(i) = X.row(i);
      Xm.row(i) = X.row(i);
      Xp2.row(i) = X.row(i);
      Xm2.row(i) = X.row(i);
    }
    const double rounding = D * 10 * std::numeric_limits<double>::epsilon() * max_abs(s) / h;
    CHECK(max_abs_diff(fd, lap) <= max_abs_diff(fd2, fd) + rounding);
    CHECK(max_abs_diff(fd, lap) <= 1e-6 * std::max(1.0, lap.cwiseAbs().maxCoeff()));

    // The same trace from D forward-mode JVPs (divergence_estimator's jvp route on a wrapper
    // that hides score_and_laplacian): two exact computations, differing by rounding only.
    struct jvp_only {
      using scalar_type = double;
      const dlogp::mlp_score_model<double, dlogp::any_process>* m;
      long dimension() const { return m->dimension(); }
      void score(double tt, const dlogp::matrix<double>& x, dlogp::matrix<double>& o) const {
        m->score(tt, x, o);
      }
      void score_jvp(double tt, const dlogp::matrix<double>& x, const dlogp::matrix<double>& v,
                     dlogp::matrix<double>& o, dlogp::matrix<double>& jv) const {
        m->score_jvp(tt, x, v, o, jv);
      }
    } wrapper{&model};
    dlogp::exact_divergence<jvp_only> via_jvp(wrapper);
    STATIC_REQUIRE(dlogp::exact_divergence<jvp_only>::route == dlogp::divergence_route::jvp);
    STATIC_REQUIRE(dlogp::exact_divergence<dlogp::mlp_score_model<double, dlogp::any_process>>::route ==
                   dlogp::divergence_route::laplacian);
    dlogp::matrix<double> s2;
    dlogp::vector<double> lap2;
    via_jvp.score_and_divergence(t, X, s2, lap2);
    CHECK(max_abs_diff(s2, s) == 0.0);
    // The score scale 1/sigma multiplies ~256 O(1) terms; rounding is ~1e-13 of that.
    const double scale = 256.0 / loaded.process.sigma(t);
    CHECK(max_abs_diff(lap2, lap) <= 1e-12 * scale);
  }
}

TEST_CASE("mlp: parametrisations map the raw output and its derivatives affinely", "[unit]") {
  const dlogp::vp_process vp;
  for (const auto& net : {random_mlp<double>(6, 10, 2), random_mlp<double>(6, 6, 3, true)}) {
  const auto X = random_matrix<double>(6, 3, 8), V = random_matrix<double>(6, 3, 9);
  const double t = 0.4, h = 1e-4;
  for (auto kind : {dlogp::parametrisation::score, dlogp::parametrisation::epsilon,
                    dlogp::parametrisation::x0, dlogp::parametrisation::v,
                    dlogp::parametrisation::flow_velocity}) {
    INFO(dlogp::to_string(kind));
    const dlogp::mlp_score_model<double> m(net, vp, kind);
    dlogp::matrix<double> raw, s, js, sp, sm;
    net.evaluate(t, X, raw);
    dlogp::to_score(kind, vp, t, X, raw);
    m.score(t, X, s);
    CHECK(max_abs_diff(s, raw) <= 1e-14 * max_abs(raw));
    m.score_jvp(t, X, V, s, js);
    m.score(t, dlogp::matrix<double>(X + h * V), sp);
    m.score(t, dlogp::matrix<double>(X - h * V), sm);
    const dlogp::matrix<double> fd = (sp - sm) / (2 * h);
    // O(h^2) truncation of an O(1)-curvature network (times the affine scale), far below 1e-5.
    CHECK(max_abs_diff(fd, js) <= 1e-5 * max_abs(js));
    // The Laplacian includes the shift term: shift * D for x0 / v / flow.
    dlogp::vector<double> lap, lap_jvp = dlogp::vector<double>::Zero(3);
    m.score_and_laplacian(t, X, s, lap);
    for (long i = 0; i < 6; ++i) {
      dlogp::matrix<double> E = dlogp::matrix<double>::Zero(6, 3);
      E.row(i).setOnes();
      m.score_jvp(t, X, E, s, js);
      for (long j = 0; j < 3; ++j) lap_jvp(j) += js(i, j);
    }
    CHECK(max_abs_diff(lap, lap_jvp) <= 1e-12 * std::max(1.0, lap.cwiseAbs().maxCoeff()));
  }
  }
  // The denoiser is Tweedie's formula of the score.
  const auto net = random_mlp<double>(6, 10, 2);
  const auto X = random_matrix<double>(6, 3, 8);
  const double t = 0.4;
  const dlogp::mlp_score_model<double> m(net, vp, dlogp::parametrisation::epsilon);
  dlogp::matrix<double> s, d;
  m.score(t, X, s);
  m.denoiser(t, X, d);
  const dlogp::matrix<double> tweedie = (X + vp.sigma2(t) * s) / vp.alpha(t);
  CHECK(max_abs_diff(d, tweedie) <= 1e-13 * max_abs(tweedie));
}

TEMPLATE_TEST_CASE("mlp: a column's result is bit-identical whatever the batch and threads",
                   "[repro]", float, double) {
  using S = TestType;
  const auto loaded = dlogp::load_mlp<S>(data_dir + "model.safetensors");
  const auto model = loaded.score_model();
  const long D = model.dimension(), N = 64;
  const dlogp::matrix<S> X = random_matrix<S>(D, N, 11), V = random_matrix<S>(D, N, 12);
  const double t = 0.3;
  dlogp::matrix<S> s_all, js_all, s, js;
  dlogp::vector<S> lap_all, lap;
  model.score_jvp(t, X, V, s_all, js_all);
  const dlogp::matrix<S> Xl = X.leftCols(16);
  model.score_and_laplacian(t, Xl, s, lap_all);
  // Batches of 1, 7 and 13 at different offsets.
  for (long n : {1L, 7L, 13L}) {
    for (long off : {0L, 3L, 9L}) {
      INFO("n = " << n << ", offset = " << off);
      const dlogp::matrix<S> x = X.middleCols(off, n), v = V.middleCols(off, n);
      model.score_jvp(t, x, v, s, js);
      CHECK((s.array() == s_all.middleCols(off, n).array()).all());
      CHECK((js.array() == js_all.middleCols(off, n).array()).all());
      model.score(t, x, s);
      CHECK((s.array() == s_all.middleCols(off, n).array()).all());
      if (off + n <= 16) {
        model.score_and_laplacian(t, x, s, lap);
        CHECK((lap.array() == lap_all.segment(off, n).array()).all());
      }
    }
  }
  // One column per thread, concurrently (thread-local workspaces, shared model).
  dlogp::matrix<S> s_par(D, N);
  int mismatches = 0;
#pragma omp parallel for num_threads(2) reduction(+ : mismatches)
  for (long j = 0; j < N; ++j) {
    dlogp::matrix<S> sj, jj;
    const dlogp::matrix<S> x = X.col(j), v = V.col(j);
    model.score_jvp(t, x, v, sj, jj);
    if (!((sj.array() == s_all.col(j).array()).all() && (jj.array() == js_all.col(j).array()).all()))
      ++mismatches;
  }
  CHECK(mismatches == 0);
  // A different t between calls must not reuse the cached time features.
  model.score(0.7, X.leftCols(4), s);
  dlogp::matrix<S> s_again;
  model.score(t, X.leftCols(4), s_again);
  CHECK((s_again.array() == s_all.leftCols(4).array()).all());
}

TEMPLATE_TEST_CASE("mlp: the blocked product gives every element the scalar definition's bits",
                   "[repro]", float, double) {
  // Every tile shape (1 to 12 columns, one to four panels, partial panels) and every SIMD lane
  // against the one-element-at-a-time definition, on strided inputs and outputs; input
  // strides of a multiple of 4 KiB take the path that packs X's tiles first.
  using S = TestType;
  constexpr long page = 4096 / long(sizeof(S));
  for (long rows : {1L, 5L, 16L, 17L, 33L, 64L, 100L, 130L}) {
    for (long K : {1L, 7L, 64L, 129L}) {
      const auto W = random_matrix<S>(rows, K, unsigned(rows * 1000 + K));
      const dlogp::detail::mlp_packed<S> Wp(W);
      for (long n : {1L, 2L, 3L, 5L, 6L, 7L, 11L, 12L, 13L, 25L, 61L, 64L}) {
        for (long ldx : {K + 3, (K + page - 1) / page * page}) {
          INFO("rows = " << rows << ", K = " << K << ", n = " << n << ", ldx = " << ldx);
          const long ldy = rows + 2;
          const auto X = random_matrix<S>(ldx, n, unsigned(n));
          dlogp::matrix<S> Y = dlogp::matrix<S>::Constant(ldy, n, S(7)), R = Y;
          dlogp::detail::mlp_product(W, Wp, X.data(), ldx, Y.data(), ldy, n);
          dlogp::detail::mlp_product_scalar(W, X.data(), ldx, R.data(), ldy, n);
          CHECK((Y.array() == R.array()).all());  // the padding rows past `rows` untouched too
          // Accuracy against a long double reference: a K-term sum of rounded multiply-adds is
          // within K eps sum_k |W(i,k) x(k,j)| (first-order bound, gamma_K).
          bool within = true;
          for (long j = 0; j < n; ++j)
            for (long i = 0; i < rows; ++i) {
              long double ref = 0, mag = 0;
              for (long k = 0; k < K; ++k) {
                ref += (long double)W(i, k) * (long double)X(k, j);
                mag += std::abs((long double)W(i, k) * (long double)X(k, j));
              }
              const long double bound =
                  (long double)K * (long double)std::numeric_limits<S>::epsilon() * mag * 1.01L;
              within = within && std::abs((long double)Y(i, j) - ref) <= bound;
            }
          CHECK(within);
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("mlp: evaluate, JVP and trace are bit-identical across batch sizes and threads",
                   "[repro]", float, double) {
  // Every optional part (gains, residual layers, skip, Gaussian base); widths that leave
  // partial panels; batches of 1, 7, 61, 64 and 4096 columns (blocks and their remainders).
  using S = TestType;
  const auto net = random_mlp<S>(8, 40, 3, true);
  const long D = 8, N = 4096;
  const dlogp::matrix<S> X = random_matrix<S>(D, N, 21), V = random_matrix<S>(D, N, 22);
  const double t = 0.35;
  dlogp::matrix<S> out_all, jout_all, jv_all, tout_all;
  dlogp::vector<S> tr_all;
  net.evaluate(t, X, out_all);
  net.evaluate_jvp(t, X, V, jout_all, jv_all);
  net.evaluate_and_trace(t, X, tout_all, tr_all);
  CHECK((jout_all.array() == out_all.array()).all());
  CHECK((tout_all.array() == out_all.array()).all());
  auto same_as_all = [&](long first, long n) {
    const dlogp::matrix<S> x = X.middleCols(first, n), v = V.middleCols(first, n);
    dlogp::matrix<S> o, jo, jv, to;
    dlogp::vector<S> tr;
    net.evaluate(t, x, o);
    net.evaluate_jvp(t, x, v, jo, jv);
    net.evaluate_and_trace(t, x, to, tr);
    return (o.array() == out_all.middleCols(first, n).array()).all() &&
           (jo.array() == o.array()).all() && (to.array() == o.array()).all() &&
           (jv.array() == jv_all.middleCols(first, n).array()).all() &&
           (tr.array() == tr_all.segment(first, n).array()).all();
  };
  for (long n : {1L, 7L, 61L, 64L}) {
    for (long first : {0L, 1L, 63L, 64L, 130L, N - n}) {
      INFO("n = " << n << ", first = " << first);
      CHECK(same_as_all(first, n));
    }
  }
  bool alone = true;  // columns evaluated alone, across the whole batch
  for (long j = 0; j < N; j += 37) alone = alone && same_as_all(j, 1);
  CHECK(alone);
  // Threads 1-4 (the chunked loop of integrate(), chunks of 64 and 7 columns): each chunk
  // runs on whichever thread takes it, with that thread's workspace.
  for (int threads = 1; threads <= 4; ++threads) {
    for (long batch : {64L, 7L}) {
      INFO("threads = " << threads << ", batch = " << batch);
      dlogp::matrix<S> o(D, N), jv(D, N);
      dlogp::vector<S> tr(N);
      dlogp::detail::for_each_chunk(N, dlogp::execution_options{batch, threads},
                                    [&](long, long first, long n) {
                                      dlogp::matrix<S> oc, jc, tc;
                                      dlogp::vector<S> trc;
                                      const dlogp::matrix<S> x = X.middleCols(first, n);
                                      const dlogp::matrix<S> v = V.middleCols(first, n);
                                      net.evaluate_jvp(t, x, v, oc, jc);
                                      net.evaluate_and_trace(t, x, tc, trc);
                                      o.middleCols(first, n) = oc;
                                      jv.middleCols(first, n) = jc;
                                      tr.segment(first, n) = trc;
                                    });
      CHECK((o.array() == out_all.array()).all());
      CHECK((jv.array() == jv_all.array()).all());
      CHECK((tr.array() == tr_all.array()).all());
    }
  }
}

TEST_CASE("mlp: weights survive a save/load round trip in float64 and float32", "[unit]") {
  const auto net = random_mlp<double>(4, 4, 3, true);
  const nlohmann::json vp = {{"kind", "vp"}, {"beta_min", 0.1}, {"beta_max", 20.0}, {"t_min", 1e-3}, {"t_max", 1.0}};
  const std::string p64 = temp_path("rt64.safetensors"), p32 = temp_path("rt32.safetensors");
  dlogp::save_mlp(p64, net, dlogp::parametrisation::v, vp);
  dlogp::save_mlp(p32, net.cast<float>(), dlogp::parametrisation::x0, vp);
  const auto a = dlogp::load_mlp<double>(p64);
  const auto b = dlogp::load_mlp<float>(p32);
  CHECK(a.kind == dlogp::parametrisation::v);
  CHECK(b.kind == dlogp::parametrisation::x0);
  CHECK(a.process.t_min() == 1e-3);
  const auto X = random_matrix<double>(4, 5, 3);
  dlogp::matrix<double> o1, o2;
  dlogp::matrix<float> o3;
  net.evaluate(0.2, X, o1);
  a.network.evaluate(0.2, X, o2);
  CHECK(max_abs_diff(o1, o2) == 0.0);  // float64 storage is exact
  b.network.evaluate(0.2, dlogp::matrix<float>(X.cast<float>()), o3);
  CHECK(max_abs_diff(o1, o3) <= 1e-5 * max_abs(o1));  // weights rounded to float32
  std::filesystem::remove(p64);
  std::filesystem::remove(p32);
}

TEST_CASE("mlp: loader errors carry stable ids", "[unit]") {
  using Catch::Matchers::Contains;
  const nlohmann::json vp = {{"kind", "vp"}};
  const auto net = random_mlp<double>(4, 8, 2);
  const std::string path = temp_path("bad.safetensors");

  CHECK_THROWS_WITH(dlogp::load_mlp<double>(temp_path("does_not_exist.safetensors")),
                    Contains("[dlogp.io_error] read_tensor_file: cannot open file"));

  {  // wrong shape of a hidden layer
    auto f = dlogp::mlp_tensor_file(net, dlogp::parametrisation::epsilon, vp);
    f.tensors["hidden.1.weight"] =
        dlogp::tensor::from_matrix(dlogp::matrix<double>(dlogp::matrix<double>::Zero(8, 7)), dlogp::tensor_dtype::f64);
    dlogp::write_tensor_file(path, f);
    CHECK_THROWS_AS(dlogp::load_mlp<double>(path), dlogp::dimension_mismatch);
    CHECK_THROWS_WITH(dlogp::load_mlp<double>(path),
                      Contains("[dlogp.dimension_mismatch] mlp: hidden.1.weight columns"));
  }
  {  // a bias stored as a matrix
    auto f = dlogp::mlp_tensor_file(net, dlogp::parametrisation::epsilon, vp);
    f.tensors["out.bias"] =
        dlogp::tensor::from_matrix(dlogp::matrix<double>(dlogp::matrix<double>::Zero(4, 1)), dlogp::tensor_dtype::f64);
    dlogp::write_tensor_file(path, f);
    CHECK_THROWS_WITH(dlogp::load_mlp<double>(path),
                      Contains("[dlogp.dimension_mismatch] tensor: out.bias must have rank 1"));
  }
  {  // missing tensor
    auto f = dlogp::mlp_tensor_file(net, dlogp::parametrisation::epsilon, vp);
    f.tensors.erase("time.bias");
    dlogp::write_tensor_file(path, f);
    CHECK_THROWS_WITH(dlogp::load_mlp<double>(path),
                      Contains("[dlogp.io_error] tensor_file: missing tensor (time.bias)"));
  }
  {  // unknown parametrisation
    auto f = dlogp::mlp_tensor_file(net, dlogp::parametrisation::epsilon, vp);
    auto a = nlohmann::json::parse(f.metadata["dlogp"]);
    a["parametrisation"] = "noise";
    f.metadata["dlogp"] = a.dump();
    dlogp::write_tensor_file(path, f);
    CHECK_THROWS_WITH(dlogp::load_mlp<double>(path),
                      Contains("[dlogp.invalid_argument] load_mlp: unknown parametrisation (noise)"));
  }
  {  // truncated payload
    dlogp::save_mlp(path, net, dlogp::parametrisation::epsilon, vp);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) - 9);
    CHECK_THROWS_WITH(dlogp::load_mlp<double>(path),
                      Contains("[dlogp.io_error] read_tensor_file: data_offsets of"));
  }
  {  // input of the wrong dimension at evaluation time
    dlogp::matrix<double> o;
    CHECK_THROWS_AS(net.evaluate(0.5, dlogp::matrix<double>::Zero(5, 2), o), dlogp::dimension_mismatch);
  }
  std::filesystem::remove(path);
}
