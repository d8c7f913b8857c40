// Writes the deterministic CSV files that the dpkit-describe end-to-end test
// reads: make_csv PATH ROWS KIND, KIND one of
//   people      id,age,height,smoker,city,note (quoted notes with commas,
//               doubled quotes and line breaks; CRLF; one unit, id 0, on 10% of rows)
//   ragged      people whose 4th data record (physical line 8: every note
//               holds a line break) has a field too few
//   nonnumeric  people whose 5th data record (line 10) has height "tall"
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: make_csv PATH ROWS people|ragged|nonnumeric\n");
        return 2;
    }
    const std::string kind = argv[3];
    const long rows = std::atol(argv[2]);
    std::FILE* f = std::fopen(argv[1], "wb");
    if (f == nullptr) return 1;
    std::mt19937_64 rng(42);
    std::normal_distribution<double> height(170, 10);
    const char* smoker[] = {"yes", "no", "no"};
    const char* city[] = {"Lyon", "Paris", "Nice"};
    std::fputs("id,age,height,smoker,city,note\r\n", f);
    for (long i = 0; i < rows; ++i) {
        const long id = i % 10 == 0 ? 0 : i;
        const int age = 18 + static_cast<int>(rng() % 73);
        const double h = height(rng);
        if (kind == "ragged" && i == 3) {
            std::fprintf(f, "%ld,%d,%.1f,%s,%s\r\n", id, age, h, smoker[i % 3], city[i % 3]);
        } else if (kind == "nonnumeric" && i == 4) {
            std::fprintf(f, "%ld,%d,tall,%s,%s,\"n\"\r\n", id, age, smoker[i % 3], city[i % 3]);
        } else {
            std::fprintf(f, "%ld,%d,%.1f,%s,%s,\"a, \"\"quoted\"\"\r\nnote\"\r\n", id, age, h, smoker[i % 3], city[i % 3]);
        }
    }
    return std::fclose(f) == 0 ? 0 : 1;
}
