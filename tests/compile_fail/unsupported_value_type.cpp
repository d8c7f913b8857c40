// KO: mechanisms take double or signed integers only (float would be noised in a
// lower precision than the lattice assumes; unsigned would wrap).
#include <dpkit/mechanisms/laplace.hpp>
int main() {
#ifdef DPKIT_KO
    const dpkit::laplace_mechanism<unsigned> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});
#else
    const dpkit::laplace_mechanism<int> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});
#endif
    return m.dimension() == 1 ? 0 : 1;
}
