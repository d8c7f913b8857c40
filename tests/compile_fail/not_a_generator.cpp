// KO: a mechanism needs a std::uniform_random_bit_generator, not an arbitrary callable.
#include <dpkit/mechanisms/laplace.hpp>
#include <dpkit/random/insecure_seeded_generator.hpp>
int main() {
    const dpkit::laplace_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});
#ifdef DPKIT_KO
    auto g = [] { return 4.0; };
#else
    dpkit::insecure_seeded_generator g(1);
#endif
    return m(1.0, g) > 1e9 ? 1 : 0;
}
