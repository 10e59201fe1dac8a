// The one source file that compiles dlogp's common instantiations (dlogp/instances.hpp) for a
// program using an installed dlogp; its other files are compiled with DLOGP_COMPILED_INSTANCES.
#define DLOGP_DEFINE_INSTANCES
#include <dlogp/instances.hpp>
