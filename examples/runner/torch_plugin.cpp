// libdlogp-run-torch.so: dlogp-run's TorchScript models (see torch_plugin.hpp for why a plugin).
#include <dlogp/model/torch_score_model.hpp>

#include <dlogp/run/torch_plugin.hpp>

namespace {

template <class Scalar>
std::shared_ptr<const dlogp::any_score_model> load(const dlogp::runner::torch_model_request& r) {
  using model = dlogp::torch_score_model<Scalar, dlogp::any_process>;
  auto m = std::make_shared<const model>(r.path, r.dimension, r.process, r.kind, r.options);
  return std::make_shared<const dlogp::any_score_model>(std::move(m), "torchscript");
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) const char* dlogp_run_torch_plugin_version() { return dlogp::version_string; }

/// The runner's OpenMP threads each evaluate their own chunk of trajectories: torch's intra-op
/// threads on top of them would oversubscribe the cores, so torch runs one thread per call.
__attribute__((visibility("default"))) void dlogp_run_load_torch_model(
    const dlogp::runner::torch_model_request* r, std::shared_ptr<const dlogp::any_score_model>* out) {
  torch::set_num_threads(1);
  *out = r->float32 ? load<float>(*r) : load<double>(*r);
}
}
