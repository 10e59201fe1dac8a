#pragma once
// Vocabulary types. A batch of trajectories is a D x N matrix (one column per trajectory)
// and one log p entry per column.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "dlogp/core/status.hpp"

namespace dlogp {

template <class Scalar>
using matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
template <class Scalar>
using vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

/// Global trajectory indices of the columns of a batch: noise is keyed by them, so a column's
/// result does not depend on which batch or thread it was computed in.
using trajectory_ids = std::vector<std::uint64_t>;

/// What dynamics need to know about the batch they are evaluated on.
struct batch_context {
  std::uint64_t seed = 0;
  const std::uint64_t* ids = nullptr;  // one per column
  long size = 0;
  bool track_logp = true;
  /// Per-column status; dynamics may set a column to a non-ok status (e.g. eta_blowup), and the
  /// driver then freezes that trajectory. May be null when nobody listens.
  dlogp::status* flags = nullptr;
};

}  // namespace dlogp
