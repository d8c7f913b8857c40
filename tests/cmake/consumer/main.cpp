#include <dpkit/dpkit.hpp>
#include <dpkit/eigen.hpp>
#include <dpkit/fmt.hpp>

#include <cstdio>

int main() {
    dpkit::secure_generator g;
    const dpkit::laplace_mechanism<std::int64_t> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});
    const auto noisy = m(std::int64_t{42}, g);
    const Eigen::Vector2d v(3, 4);
    const auto clipped = dpkit::clip_l2(v, 1.0);
    std::printf("%s noisy=%lld clipped_norm=%.3f\n", fmt::format("{}", m.cost()).c_str(),
                static_cast<long long>(noisy), clipped.norm());
    return clipped.norm() <= 1.0 ? 0 : 1;
}
