// Must NOT compile: the model does not say its scalar type (expect_diagnostic.cmake).
#include <dlogp/dynamics/pf_ode.hpp>
#include <dlogp/process/vp.hpp>

struct user_model {
  long dimension() const { return 2; }
  void score(double, const dlogp::matrix<double>& X, dlogp::matrix<double>& S) const { S = -X; }
};

int main() {
  const user_model m;
  dlogp::pf_ode dynamics(m, dlogp::vp_process());
  (void)dynamics;
}
