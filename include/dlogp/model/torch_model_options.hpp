#pragma once
// How a TorchScript module takes its inputs (model/torch_score_model.hpp). A header of its own,
// without libtorch, so code that only describes a module (dlogp-run's spec) need not include
// torch.
#include <vector>

namespace dlogp {

struct torch_model_options {
  /// The shape of one sample as the module takes it, e.g. {C, H, W} (product D); empty: [D].
  std::vector<long> input_shape;
  /// The module's second argument: the process time t, or the noise level sigma(t).
  enum class time_input { t, sigma } time = time_input::t;
};

}  // namespace dlogp
