#include <dpkit/dpkit.hpp>
#include <cstdio>

int main() {
    const std::int64_t diabetic_patients = 1234;  // the private, exact count
    dpkit::secure_generator gen;                  // CSPRNG, seeded from the OS
    // One person changes a count by at most 1 (the sensitivity); spend epsilon = 0.5.
    const dpkit::laplace_mechanism<std::int64_t> laplace(dpkit::epsilon{0.5},
                                                         dpkit::l1_sensitivity{1});
    const std::int64_t released = laplace(diabetic_patients, gen);
    const auto ci = dpkit::confidence_interval(laplace, 0.95);
    std::printf("%lld, within %.0f of the truth with 95%% probability; cost epsilon = %.2f\n",
                static_cast<long long>(released), ci.upper, laplace.cost().epsilon);
}
