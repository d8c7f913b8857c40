// KO: epsilon and sensitivity swapped must not compile.
#include <dpkit/mechanisms/laplace.hpp>
int main() {
#ifdef DPKIT_KO
    const dpkit::laplace_mechanism<double> m(dpkit::l1_sensitivity{1.0}, dpkit::epsilon{0.5});
#else
    const dpkit::laplace_mechanism<double> m(dpkit::epsilon{0.5}, dpkit::l1_sensitivity{1.0});
#endif
    return m.dimension() == 1 ? 0 : 1;
}
