// KO: bare doubles must not convert to epsilon / delta / sensitivity.
#include <dpkit/mechanisms/gaussian.hpp>
int main() {
#ifdef DPKIT_KO
    const dpkit::gaussian_mechanism<double> m(1.0, 1e-5, 1.0);
#else
    const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5}, dpkit::l2_sensitivity{1.0});
#endif
    return m.dimension() == 1 ? 0 : 1;
}
