#include <dpkit/dpkit.hpp>
#include <cstdio>

int main() {
    const std::int64_t diabetic_patients = 1234;  // the private, exact count (made up, so we may print it)
    dpkit::secure_generator gen;                  // CSPRNG, seeded from the OS
    // One person changes a count by at most 1 (the sensitivity). A whole study
    // should cost each person at most epsilon = 1; this count spends 0.1 of it.
    const dpkit::laplace_mechanism<std::int64_t> laplace(dpkit::epsilon{0.1},
                                                         dpkit::l1_sensitivity{1});
    const std::int64_t released = laplace(diabetic_patients, gen);
    const auto noise = dpkit::confidence_interval(laplace, 0.95);
    std::printf("released %lld; the truth is %lld (error %+lld)\n", static_cast<long long>(released),
                static_cast<long long>(diabetic_patients),
                static_cast<long long>(released - diabetic_patients));
    std::printf("the error lies in [%.0f, %.0f] with 95%% probability; cost epsilon = %.2f\n", noise.lower,
                noise.upper, laplace.cost().epsilon);
}
