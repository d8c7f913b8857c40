// KO: delta and L2 sensitivity swapped must not compile.
#include <dpkit/mechanisms/gaussian.hpp>
int main() {
#ifdef DPKIT_KO
    const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::l2_sensitivity{1.0}, dpkit::delta{1e-5});
#else
    const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5}, dpkit::l2_sensitivity{1.0});
#endif
    return m.dimension() == 1 ? 0 : 1;
}
