// KO: bernoulli(g, 0.7) must not compile (a double probability used to become 0).
#include <dpkit/random/insecure_seeded_generator.hpp>
#include <dpkit/random/samplers.hpp>
int main() {
    dpkit::insecure_seeded_generator g(1);
#ifdef DPKIT_KO
    const bool b = dpkit::bernoulli(g, 0.7);
#else
    const bool b = dpkit::bernoulli(g, dpkit::rational(7, 10));
#endif
    return b ? 0 : 0;
}
