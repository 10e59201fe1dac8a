// Must NOT compile: score is not const. The diagnostic must say so (expect_diagnostic.cmake).
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/process/vp.hpp>

struct user_model {
  using scalar_type = double;
  long dimension() const { return 2; }
  void score(double, const dlogp::matrix<double>& X, dlogp::matrix<double>& S) { S = -X; }
};

int main() {
  const user_model m;
  dlogp::pf_ode dynamics(m, dlogp::vp_process());
  (void)dynamics;
}
