// KO: a Gaussian mechanism needs an L2 sensitivity, not an L1 one.
#include <dpkit/mechanisms/gaussian.hpp>
int main() {
#ifdef DPKIT_KO
    const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5}, dpkit::l1_sensitivity{1.0});
#else
    const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5}, dpkit::l2_sensitivity{1.0});
#endif
    return m.dimension() == 1 ? 0 : 1;
}
