#pragma once
// A validated dlogp-run spec, as the methods see it: the model, the process, the times, the
// sections several methods share (solver, divergence, guidance) in typed form, and the filled
// JSON for the keys a method owns. spec.hpp turns spec text into one.
#include <cstdint>
#include <memory>
#include <string>

#include <dlogp/core/time_grid.hpp>
#include <dlogp/divergence/divergence.hpp>
#include <dlogp/model/any_score_model.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/any_process.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/step_size_controller.hpp>

#include "method.hpp"

namespace dlogp::runner {

using mixture_type = gaussian_mixture<double, any_process>;

struct solver_settings {
  std::string scheme;
  time_grid_options grid;
  step_tolerance tolerance;
};

struct guidance_settings {
  double q = 0.5, noise = 0.0;
  double window_lo = 0, window_hi = 0;
  bool exact_projection_term = false;
};

/// A validated spec (spec.hpp). `filled` is the spec with every default filled in (the output's
/// "spec"); a method reads the keys it owns from there (its definition validated them).
struct run_spec {
  json filled;
  const method_definition* method = nullptr;
  any_process process = vp_process{};
  std::shared_ptr<const any_score_model> model;
  std::shared_ptr<const mixture_type> mixture;  ///< the model, when it is a Gaussian mixture
  solver_settings solver;
  divergence_options divergence;
  guidance_settings guidance;
  double t_start = 0, t_end = 0;
  bool x_start_given = false;
  matrix<double> x_start;  ///< D x n when given
  long n = 1;
  std::uint64_t seed = 0;
  bool track_logp = true;
  bool init_exact = false;  ///< init_logp "exact"
  long record_every = 0;    ///< 0: no record

  long dimension() const { return model->dimension(); }
  bool encoding() const { return method->dir == direction::encoding; }
};

}  // namespace dlogp::runner
