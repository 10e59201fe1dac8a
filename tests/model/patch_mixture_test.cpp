// The committed mixture of 8x8 photo patches (examples/patch_mixture,
// docs/findings-patch-mixture.md): it loads, its log p_0 is scikit-learn's, and it beats one
// Gaussian on held-out patches. Uses only the committed files (no scikit-learn at test time).
#include <catch2/catch.hpp>
#include <cmath>
#include <dlogp/io/gmm_file.hpp>
#include <dlogp/io/npy.hpp>
#include <dlogp/process/vp.hpp>
#include <string>

using namespace dlogp;

namespace {

const std::string data_dir = std::string(DLOGP_SOURCE_DIR) + "/examples/patch_mixture/data/";
constexpr long D = 64;

// vp_process has alpha(0) = 1 and sigma(0) = 0 exactly, so at t = 0 the diffused mixture is the
// fitted one and log p_0 is the data density scikit-learn's score_samples evaluates.
using patch_mixture = gaussian_mixture<double, vp_process>;
patch_mixture load(const std::string& name) {
  return load_gaussian_mixture<double>(data_dir + name, vp_process());
}

matrix<double> heldout() {
  return read_npy(data_dir + "heldout.npy").as_columns<double>("heldout");
}

}  // namespace

TEST_CASE("patch mixture: the committed files load with the documented shapes",
          "[model][patch_mixture]") {
  const patch_mixture mix = load("mixture.safetensors");
  const patch_mixture gauss = load("gaussian.safetensors");
  CHECK(mix.dimension() == D);
  CHECK(mix.components() == 16);
  CHECK(gauss.dimension() == D);
  CHECK(gauss.components() == 1);
  const matrix<double> X = heldout();
  CHECK(X.rows() == D);
  CHECK(X.cols() == 256);
  // Dequantised 8-bit pixels in model units lie in [-1, 1).
  CHECK(X.minCoeff() >= -1.0);
  CHECK(X.maxCoeff() < 1.0);
}

TEST_CASE("patch mixture: log p_0 of held-out patches equals scikit-learn's score_samples",
          "[model][patch_mixture]") {
  // Both sides evaluate the same formula in double precision from the same F64 numbers
  // (covariances with scikit-learn's reg_covar already added, as its precisions were computed):
  // log p = logsumexp_k(log w_k - D/2 log 2pi - log det L_k - |L_k^{-1}(x - mu_k)|^2 / 2).
  // They differ only in rounding, chiefly of the two D = 64 Cholesky factorisations, whose
  // relative error in the Mahalanobis term is about kappa(S_k) eps with kappa up to 2.5e6
  // here (smallest eigenvalues down to 1.1e-5, near the floor of the dequantisation noise's
  // variance (2/256)^2 / 12): at worst ~5e-10 of terms of tens to hundreds of nats. Measured: 7e-13
  // (mixture) and 2e-14 (Gaussian), as rounding errors add up far below that bound. A mismatch of
  // the parametrisation is far outside the tolerance: without reg_covar (1e-6 on every diagonal
  // entry) these log p change by 6e-4 to 1.1 nats, over 2e-6 relative.
  const matrix<double> X = heldout().leftCols(16);
  const matrix<double> ref =
      read_npy(data_dir + "heldout_log_p.npy").as_matrix<double>("reference");
  REQUIRE(ref.rows() == 2);
  REQUIRE(ref.cols() == 16);
  const char* files[] = {"mixture.safetensors", "gaussian.safetensors"};
  for (long m = 0; m < 2; ++m) {
    const patch_mixture model = load(files[m]);
    vector<double> lp;
    model.log_density(0.0, X, lp);
    double worst = 0;
    long at = 0;
    for (long j = 0; j < X.cols(); ++j) {
      const double rel = std::abs(lp(j) - ref(m, j)) / std::abs(ref(m, j));
      if (rel > worst) worst = rel, at = j;
    }
    INFO(files[m] << ": largest relative difference at patch " << at << ": dlogp " << lp(at)
                  << ", scikit-learn " << ref(m, at));
    CHECK(worst <= 1e-9);
  }
}

TEST_CASE("patch mixture: clearly better than one Gaussian on held-out patches",
          "[model][patch_mixture]") {
  // On all 6000 held-out patches the mixture gains 94.5 +- 0.8 nats per patch (2.13 bits/dim;
  // docs/findings-patch-mixture.md); on the 256 committed ones, 86.5 +- 3.6, and 247 of them
  // gain. "Clearly better": the gain's lower 5-sigma bound (standard error over patches) is above
  // 50 nats, more than half the measured gain, and at least 90% of the patches gain.
  const matrix<double> X = heldout();
  vector<double> lm, lg;
  load("mixture.safetensors").log_density(0.0, X, lm);
  load("gaussian.safetensors").log_density(0.0, X, lg);
  const vector<double> gain = lm - lg;
  const double n = double(gain.size());
  const double mean = gain.mean();
  const double se = std::sqrt((gain.array() - mean).square().sum() / (n - 1) / n);
  const long better = (gain.array() > 0).count();
  INFO("mean gain " << mean << " +- " << se << " nats; " << better << " of " << gain.size()
                    << " patches gain");
  CHECK(mean - 5 * se > 50.0);
  CHECK(better >= 0.9 * n);
}
