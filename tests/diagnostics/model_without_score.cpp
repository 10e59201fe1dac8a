// Must NOT compile: the model has no score. The diagnostic must name it (expect_diagnostic.cmake).
#include <dlogp/dynamics/reverse_sde.hpp>
#include <dlogp/process/vp.hpp>

struct user_model {
  using scalar_type = double;
  long dimension() const { return 2; }
};

int main() {
  const user_model m;
  dlogp::reverse_sde dynamics(m, dlogp::vp_process());
  (void)dynamics;
}
