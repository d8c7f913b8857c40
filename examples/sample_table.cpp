// Writes a made-up table of study participants for the dpkit-describe demo,
// and prints its true summary: the data are synthetic, so the truth may be
// shown beside the private release to make the noise visible.
//   sample_table participants.csv
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: sample_table OUT.csv\n");
        return 2;
    }
    std::FILE* f = std::fopen(argv[1], "wb");
    if (f == nullptr) {
        std::perror(argv[1]);
        return 1;
    }
    const int rows = 100000;
    std::mt19937_64 rng(2026);
    std::normal_distribution<double> height(169, 9.5);
    std::uniform_int_distribution<int> age(18, 89);
    std::bernoulli_distribution smokes(0.18);
    const char* cities[] = {"Lyon", "Paris", "Nice", "Lille", "Brest"};
    std::discrete_distribution<int> city{30, 40, 15, 10, 5};
    std::vector<double> heights, ages;
    int smokers = 0;
    std::fputs("participant,age,height_cm,smoker,city\n", f);
    for (int i = 0; i < rows; ++i) {
        double h = std::round(height(rng) * 10) / 10;
        if (i % 5000 == 17) h = h / 100;  // twenty heights typed in metres: outliers the bounds clamp
        const int a = age(rng);
        const bool s = smokes(rng);
        smokers += s ? 1 : 0;
        const char* c = i % 1000 == 3 ? nullptr : cities[city(rng)];
        if (c == nullptr) {
            std::fprintf(f, "p%06d,%d,%.2f,%s,\"Village %d, north\"\n", i, a, h, s ? "yes" : "no", i);  // a rare key
        } else {
            std::fprintf(f, "p%06d,%d,%.2f,%s,%s\n", i, a, h, s ? "yes" : "no", c);
        }
        heights.push_back(std::clamp(h, 100.0, 220.0));
        ages.push_back(a);
    }
    std::fclose(f);
    auto summary = [](const char* name, std::vector<double> v) {
        std::sort(v.begin(), v.end());
        double sum = 0;
        for (double x : v) sum += x;
        const double mean = sum / static_cast<double>(v.size());
        double ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        auto q = [&](double p) { return v[static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1]; };
        std::printf("  %-10s count %zu  mean %.2f  std %.2f  min %.2f  25%% %.2f  50%% %.2f  75%% %.2f  max %.2f\n", name, v.size(), mean,
                    std::sqrt(ss / static_cast<double>(v.size())), v.front(), q(0.25), q(0.5), q(0.75), v.back());
    };
    std::printf("wrote %s: %d made-up participants. The truth (heights clamped to the declared [100, 220]):\n", argv[1], rows);
    summary("age", ages);
    summary("height_cm", heights);
    std::printf("  smoker     yes %d  no %d; city: 5 cities and 100 villages held by one participant each\n", smokers, rows - smokers);
    return 0;
}
