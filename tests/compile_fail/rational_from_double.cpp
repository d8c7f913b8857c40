// KO: a double must not convert to dpkit::rational (it used to truncate through
// uint64_t: discrete_gaussian_distribution(2.9) had sigma^2 = 2).
#include <dpkit/random/samplers.hpp>
int main() {
#ifdef DPKIT_KO
    const dpkit::discrete_gaussian_distribution d(2.9);
#else
    const dpkit::discrete_gaussian_distribution d(dpkit::rational::exactly(2.9));
#endif
    return d.sigma2().is_zero() ? 1 : 0;
}
