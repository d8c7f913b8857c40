// Audit your own mechanism. A home-made Laplace mechanism, as tutorials write
// it, claims epsilon = 1 on a count; dpkit's auditor draws a million outputs on
// the neighbouring counts 0 and 1 and proves that it is not 1-DP: its floating-
// point outputs near 0 reveal which count it was given (Mironov, CCS 2012).
// dpkit's Laplace mechanism passes the same audit. Each audit writes an SVG of
// the two output histograms with the witnessing event shaded (into the
// directory given as the first argument, else the current one).
#include <dpkit/audit.hpp>
#include <dpkit/dpkit.hpp>

#include <fmt/core.h>
#include <fmt/os.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

// The home-made mechanism: count + (1/epsilon) * sign * ln(U).
struct home_made_laplace {
    double epsilon;
    template <class G>
    double operator()(double count, G& g) const {
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        const double u = 1.0 - uniform(g);  // in (0, 1]
        const double sign = uniform(g) < 0.5 ? -1.0 : 1.0;
        return count + (1.0 / epsilon) * sign * std::log(u);
    }
};

// Histograms of both inputs' outputs; in each bin, the outputs that fall in the
// witnessing event are drawn dark.
template <class M>
void write_svg(const std::string& path, const std::string& title, const M& mechanism,
               const dpkit::output_event<double>& event) {
    dpkit::secure_generator g;
    std::vector<double> outputs[2];
    for (int side = 0; side < 2; ++side) {
        for (int i = 0; i < 20000; ++i) outputs[side].push_back(mechanism(static_cast<double>(side), g));
    }
    std::vector<double> pooled = outputs[0];
    pooled.insert(pooled.end(), outputs[1].begin(), outputs[1].end());
    std::sort(pooled.begin(), pooled.end());
    const double lo = pooled[pooled.size() / 200];
    const double hi = pooled[pooled.size() - pooled.size() / 200 - 1];
    const int bins = 60;
    std::vector<double> all[2] = {std::vector<double>(bins), std::vector<double>(bins)};
    std::vector<double> in_event[2] = {std::vector<double>(bins), std::vector<double>(bins)};
    double tallest = 1;
    for (int side = 0; side < 2; ++side) {
        for (double o : outputs[side]) {
            if (o < lo || o > hi) continue;
            const auto b = std::min(bins - 1, static_cast<int>((o - lo) / (hi - lo) * bins));
            all[side][static_cast<std::size_t>(b)] += 1;
            if (event.contains(o)) in_event[side][static_cast<std::size_t>(b)] += 1;
            tallest = std::max(tallest, all[side][static_cast<std::size_t>(b)]);
        }
    }
    const double width = 720, panel = 160, left = 40, top = 50, bar = (width - 2 * left) / bins;
    auto out = fmt::output_file(path);
    out.print(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="12">)",
              width, top + 2 * panel + 60);
    out.print(R"(<text x="{}" y="22" font-size="14">{}</text>)", left, title);
    out.print(R"(<text x="{}" y="40" fill="#b03030">shaded: {}</text>)", left, event.describe());
    const char* light[2] = {"#9ab8d8", "#d8b89a"};
    for (int side = 0; side < 2; ++side) {
        const double base = top + (side + 1) * panel;
        out.print(R"(<text x="{}" y="{}">outputs on count {}</text>)", left + 4, base - panel + 16, side);
        out.print(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="black"/>)", left, base, width - left, base);
        for (int b = 0; b < bins; ++b) {
            const double h = (panel - 24) * all[side][static_cast<std::size_t>(b)] / tallest;
            const double e = (panel - 24) * in_event[side][static_cast<std::size_t>(b)] / tallest;
            const double x = left + b * bar;
            out.print(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"/>)", x, base - h, bar - 1, h,
                      light[side]);
            if (e > 0) {
                out.print(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#b03030"/>)", x, base - e,
                          bar - 1, std::max(e, 1.0));
            }
        }
    }
    const double axis = top + 2 * panel + 18;
    out.print(R"(<text x="{}" y="{}">{:.3g}</text><text x="{}" y="{}" text-anchor="end">{:.3g}</text>)", left, axis, lo,
              width - left, axis, hi);
    out.print("</svg>\n");
}

template <class O>
void print_report(const char* title, const dpkit::audit_report<O>& r) {
    fmt::print("== {}\n", title);
    fmt::print("   claimed epsilon: {:.4f}{}\n", r.claimed_epsilon,
               r.claimed_delta > 0 ? fmt::format(" (delta {:g})", r.claimed_delta) : "");
    fmt::print("   proven epsilon:  >= {:.4f} at {:g}% confidence: {}\n", r.epsilon_lower_bound, 100 * r.confidence,
               r.violation ? "the claim is FALSE" : "no violation found");
    fmt::print("   witnessing event: {}\n", r.event.describe());
    fmt::print("   counts: {} of {} outputs on count 0, {} of {} on count 1 (after choosing the event on {} others)\n",
               r.count_first, r.test_samples, r.count_second, r.test_samples, r.selection_samples);
    fmt::print("   sampling: {:.3g} outputs/s on {} threads\n", r.samples_per_second, r.threads);
}

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? std::string(argv[1]) + "/" : std::string();  // where the SVGs go
    dpkit::audit_options options;
    options.samples = 1'000'000;  // per input; drawn with dpkit::secure_generator, one per thread
    options.epsilon = 1.0;        // the home-made mechanism's claim (dpkit's mechanisms report theirs)
    const home_made_laplace home_made{1.0};
    const auto flagged = dpkit::audit(home_made, 0.0, 1.0, options);
    print_report("A home-made Laplace mechanism, count + (1/epsilon) sign ln(U)", flagged);
    write_svg(dir + "audit_home_made.svg", "home-made Laplace, epsilon 1 claimed", home_made, flagged.event);

    const dpkit::laplace_mechanism<double> laplace(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1});
    options.epsilon.reset();
    const auto passed = dpkit::audit(laplace, 0.0, 1.0, options);
    fmt::print("\n");
    print_report("dpkit::laplace_mechanism<double>, epsilon 1", passed);
    write_svg(dir + "audit_dpkit_laplace.svg", "dpkit::laplace_mechanism, epsilon 1", laplace, passed.event);
    fmt::print("\nhistograms: {0}audit_home_made.svg, {0}audit_dpkit_laplace.svg\n", dir);
    return 0;
}
