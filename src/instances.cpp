// The compiled part of dlogp::instances: the definitions of the instantiations that
// dlogp/instances.hpp lists (its users see them as `extern template` declarations).
#define DLOGP_DEFINE_INSTANCES
#include "dlogp/instances.hpp"
