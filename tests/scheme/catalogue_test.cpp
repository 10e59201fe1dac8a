// The scheme catalogue: names, kinds and dispatch by name, and high_density_sampler's use of it.
#include <catch2/catch.hpp>
#include <string>
#include <type_traits>

#include <dlogp/high_density.hpp>
#include <dlogp/model/gaussian_mixture.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/scheme/catalogue.hpp>

using namespace dlogp;

TEST_CASE("scheme catalogue: every entry's name dispatches to its own type", "[scheme][unit]") {
  for (const auto& name : scheme_names(ode_scheme_list{})) {
    INFO(name);
    const std::string got = with_scheme(ode_scheme_list{}, name, [](auto s) { return std::string(decltype(s)::name); });
    CHECK(got == name);
  }
  CHECK(with_scheme(sde_scheme_list{}, "euler-maruyama", [](auto s) {
    return std::is_same_v<decltype(s), euler_maruyama>;
  }));
  // A family resolves its variant at run time; DDIM has one.
  const bool noise_singlestep = with_scheme(pf_ode_scheme_list{}, "dpm-solver-2", [](auto family) {
    return decltype(family)::with_variant(dpm_prediction::noise, dpm_method::singlestep, [](auto s) {
      return std::is_same_v<decltype(s), dpm_solver<2, dpm_prediction::noise, dpm_method::singlestep>>;
    });
  });
  CHECK(noise_singlestep);
  CHECK(dpm_solver_family<1>::with_variant(dpm_prediction::data, dpm_method::multistep,
                                           [](auto s) { return std::is_same_v<decltype(s), ddim>; }));
}

TEST_CASE("scheme catalogue: kinds and lookups", "[scheme][unit]") {
  CHECK(find_scheme("dopri5")->adaptive);
  CHECK_FALSE(find_scheme("rk4")->adaptive);
  CHECK(find_scheme("rk4")->order == 4);
  CHECK(find_scheme("euler-maruyama")->stochastic);
  CHECK(find_scheme("dpm-solver-3")->has_variants);
  CHECK_FALSE(find_scheme("ddim")->has_variants);
  CHECK(find_scheme("rk45") == nullptr);
  // The first scheme of each list is its kind's default.
  CHECK(scheme_names(ode_scheme_list{}).front() == "dopri5");
  CHECK(scheme_names(sde_scheme_list{}).front() == "euler-maruyama");
  // Names are unique across the lists (a name means one scheme everywhere).
  const auto all = all_scheme_summaries();
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = i + 1; j < all.size(); ++j) CHECK(all[i].name != all[j].name);
}

TEST_CASE("scheme catalogue: an unknown name is an invalid_argument that lists the known ones", "[scheme][unit]") {
  try {
    with_scheme(ode_scheme_list{}, "rk45", [](auto) { return 0; });
    FAIL("no exception");
  } catch (const invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("\"rk45\"") != std::string::npos);
    CHECK(m.find("dopri5, euler, heun, rk4") != std::string::npos);
  }
  // high_density_sampler refuses it before any step.
  const vp_process p;
  const auto model = gaussian_mixture<double, vp_process>::isotropic(p, {1.0}, matrix<double>::Zero(2, 1), {1.0});
  const matrix<double> X = matrix<double>::Zero(2, 3);
  const vector<double> L = vector<double>::Zero(3);
  high_density_options o{.threshold = 0.5};
  o.second.scheme = "rk45";
  CHECK_THROWS_AS(sample_high_density(model, p, X, L, o), invalid_argument);
}
