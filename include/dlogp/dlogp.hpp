#pragma once
// Umbrella header: everything in dlogp that needs only Eigen. Opt-in headers that need other
// libraries (io/ with nlohmann_json, model/torch_score_model.hpp with libtorch) are not included.
#include "dlogp/config.hpp"
#include "dlogp/error.hpp"
#include "dlogp/version.hpp"

#include "dlogp/core/column_ops.hpp"
#include "dlogp/core/concepts.hpp"
#include "dlogp/core/dual.hpp"
#include "dlogp/core/gauss_legendre.hpp"
#include "dlogp/core/normal_quantile.hpp"
#include "dlogp/core/random.hpp"
#include "dlogp/core/status.hpp"
#include "dlogp/core/threads.hpp"
#include "dlogp/core/time_direction.hpp"
#include "dlogp/core/time_grid.hpp"
#include "dlogp/core/types.hpp"

#include "dlogp/process/any_process.hpp"
#include "dlogp/process/edm.hpp"
#include "dlogp/process/prior.hpp"
#include "dlogp/process/rectified_flow.hpp"
#include "dlogp/process/sub_vp.hpp"
#include "dlogp/process/ve.hpp"
#include "dlogp/process/vp.hpp"

#include "dlogp/model/check_score_model.hpp"
#include "dlogp/model/gaussian_mixture.hpp"
#include "dlogp/model/parametrisation.hpp"
#include "dlogp/model/perturbed_score.hpp"

#include "dlogp/divergence/divergence.hpp"

#include "dlogp/scheme/catalogue.hpp"
#include "dlogp/scheme/dopri5.hpp"
#include "dlogp/scheme/dpm_solver.hpp"
#include "dlogp/scheme/euler.hpp"
#include "dlogp/scheme/euler_maruyama.hpp"
#include "dlogp/scheme/heun.hpp"
#include "dlogp/scheme/rk4.hpp"

#include "dlogp/dynamics/density_guidance.hpp"
#include "dlogp/dynamics/forward_sde.hpp"
#include "dlogp/dynamics/general.hpp"
#include "dlogp/dynamics/hd_ode.hpp"
#include "dlogp/dynamics/mode_tracking.hpp"
#include "dlogp/dynamics/pf_ode.hpp"
#include "dlogp/dynamics/pf_ode_rates.hpp"
#include "dlogp/dynamics/reverse_sde.hpp"

#include "dlogp/analysis/bits_per_dim.hpp"
#include "dlogp/analysis/elbo.hpp"
#include "dlogp/analysis/h_statistic.hpp"
#include "dlogp/analysis/prior_guidance.hpp"
#include "dlogp/analysis/score_alignment.hpp"
#include "dlogp/analysis/score_matching.hpp"
#include "dlogp/analysis/sde_bias.hpp"

#include "dlogp/sampler/langevin.hpp"
#include "dlogp/sampler/pc.hpp"

#include "dlogp/high_density.hpp"
#include "dlogp/integrate.hpp"

// With dlogp::instances (or -DDLOGP_COMPILED_INSTANCES): the common instantiations are compiled
// once in their own translation unit, and this one only declares them (dlogp/instances.hpp).
#if defined(DLOGP_COMPILED_INSTANCES)
#include "dlogp/instances.hpp"
#endif
