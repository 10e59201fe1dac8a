#pragma once
// Compiled instances: the templates most programs use (the Gaussian mixture and the runs of the
// built-in dynamics over it) compiled once, in one translation unit, instead of in every file
// that calls them. A file that sees the `extern` declarations below only parses the headers and
// calls the compiled code; the quickstart compiles in a third of the time (docs/performance.md,
// "Compile times"). Results are the same bits either way when the instances and the caller are
// built with the same flags (docs/reproducibility.md).
//
// Use:
//  - CMake, with dlogp's source tree (add_subdirectory or FetchContent): link dlogp::instances.
//    It compiles the definitions and makes <dlogp/dlogp.hpp> declare them (it defines
//    DLOGP_COMPILED_INSTANCES for its users).
//  - Otherwise (an installed package, another build system): in ONE source file of the program
//        #define DLOGP_DEFINE_INSTANCES
//        #include <dlogp/instances.hpp>
//    and in the others include <dlogp/instances.hpp> after the dlogp headers (or compile them
//    with -DDLOGP_COMPILED_INSTANCES).
//  - Your own types: the same pattern with the macro, e.g. in a header of yours
//        extern DLOGP_INTEGRATE_INSTANCE(dlogp::rk4, dlogp::pf_ode<my_model, dlogp::vp_process>);
//    and, without `extern`, in one source file.
#include "dlogp/analysis/score_alignment.hpp"
#include "dlogp/dynamics/density_guidance.hpp"
#include "dlogp/dynamics/hd_ode.hpp"
#include "dlogp/dynamics/mode_tracking.hpp"
#include "dlogp/dynamics/pf_ode.hpp"
#include "dlogp/dynamics/reverse_sde.hpp"
#include "dlogp/high_density.hpp"
#include "dlogp/integrate.hpp"
#include "dlogp/model/gaussian_mixture.hpp"
#include "dlogp/process/edm.hpp"
#include "dlogp/process/vp.hpp"
#include "dlogp/scheme/dopri5.hpp"
#include "dlogp/scheme/euler_maruyama.hpp"
#include "dlogp/scheme/heun.hpp"
#include "dlogp/scheme/rk4.hpp"

/// The explicit instantiation of integrate(dynamics, Scheme{}, ...) for one dynamics type (the
/// last argument, which may contain commas); put `extern` in front for the declaration.
#define DLOGP_INTEGRATE_INSTANCE(Scheme, ...)                                                  \
  template ::dlogp::integration_result<__VA_ARGS__::scalar_type>                             \
  dlogp::integrate<Scheme, __VA_ARGS__, __VA_ARGS__::scalar_type>(                           \
      const __VA_ARGS__&, Scheme, ::dlogp::matrix<__VA_ARGS__::scalar_type>,                 \
      ::dlogp::vector<__VA_ARGS__::scalar_type>, double, double,                              \
      const ::dlogp::integrate_options&, const ::dlogp::step_observer<__VA_ARGS__::scalar_type>&)

#if defined(DLOGP_DEFINE_INSTANCES)
#define DLOGP_INSTANCE_ /* the definitions, compiled here */
#else
#define DLOGP_INSTANCE_ extern
#endif

// The list, one instance each: the model in double and float; with the double mixture, the
// dynamics the examples and docs/ use, under the VP and EDM processes.
DLOGP_INSTANCE_ template class dlogp::gaussian_mixture<double>;
DLOGP_INSTANCE_ template class dlogp::gaussian_mixture<float>;

DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::euler_maruyama, dlogp::reverse_sde<dlogp::gaussian_mixture<double>, dlogp::vp_process>);
DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::euler_maruyama, dlogp::reverse_sde<dlogp::gaussian_mixture<double>, dlogp::edm_process>);
DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::dopri5, dlogp::pf_ode<dlogp::gaussian_mixture<double>, dlogp::vp_process>);
DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::rk4, dlogp::pf_ode<dlogp::gaussian_mixture<double>, dlogp::vp_process>);
DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::heun, dlogp::pf_ode<dlogp::gaussian_mixture<double>, dlogp::edm_process>);
DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::rk4, dlogp::hd_ode<dlogp::gaussian_mixture<double>, dlogp::vp_process>);
DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::rk4, dlogp::mode_tracking<dlogp::gaussian_mixture<double>, dlogp::vp_process>);
DLOGP_INSTANCE_ DLOGP_INTEGRATE_INSTANCE(
    dlogp::heun, dlogp::dg_ode<dlogp::gaussian_mixture<double>, dlogp::edm_process>);

DLOGP_INSTANCE_ template dlogp::integration_result<double>
dlogp::sample_high_density<dlogp::gaussian_mixture<double>, dlogp::vp_process, double>(
    const dlogp::gaussian_mixture<double>&, const dlogp::vp_process&, long,
    const dlogp::high_density_options&, const dlogp::step_observer<double>&);

DLOGP_INSTANCE_ template dlogp::score_alignment_result<double>
dlogp::score_alignment<dlogp::rk4, dlogp::gaussian_mixture<double>, dlogp::edm_process, double>(
    const dlogp::gaussian_mixture<double>&, const dlogp::edm_process&, dlogp::rk4,
    const dlogp::matrix<double>&, double, double, dlogp::integrate_options);

#undef DLOGP_INSTANCE_
