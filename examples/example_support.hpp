#pragma once
// What every scenario example shares: the command line (`--seed N`, `--help`)
// and the generator it chooses. By default the noise comes from
// dpkit::secure_generator; `--seed N` switches to
// dpkit::insecure_seeded_generator for reproducible runs (CI uses it), and a
// warning says that such output is not private.
#include <dpkit/random.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <variant>

namespace example {

/// A std::uniform_random_bit_generator that is either the secure default or,
/// after --seed N, the insecure reproducible generator.
class generator {
public:
    using result_type = std::uint64_t;
    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return UINT64_MAX; }

    /// Reads the command line: no argument, `--seed N` or `--help` (which exits).
    generator(int argc, char** argv, const char* what) : source_(make(parse(argc, argv, what))) {}

    result_type operator()() {
        return std::visit([](auto& g) -> result_type { return g(); }, source_);
    }

private:
    using source = std::variant<dpkit::secure_generator, dpkit::insecure_seeded_generator>;

    static std::optional<std::uint64_t> parse(int argc, char** argv, const char* what) {
        std::optional<std::uint64_t> seed;
        for (int i = 1; i < argc; i += 2) {
            const std::string_view arg = argv[i];
            if (arg == "--help" || arg == "-h") {
                std::printf("%s\nusage: %s [--seed N]\n  --seed N  reproducible noise from a known seed: NOT private\n",
                            what, argv[0]);
                std::exit(0);
            }
            std::uint64_t value = 0;
            const char* text = i + 1 < argc ? argv[i + 1] : "";
            const char* end = text + std::strlen(text);
            if (arg != "--seed" || *text == '\0' || std::from_chars(text, end, value).ptr != end) {
                std::fprintf(stderr, "%s: expected no argument or --seed N (a non-negative integer); see --help\n", argv[0]);
                std::exit(2);
            }
            seed = value;
        }
        return seed;
    }

    static source make(std::optional<std::uint64_t> seed) {
        if (!seed) return source(std::in_place_type<dpkit::secure_generator>);
        std::fprintf(stderr,
                     "warning: --seed %llu: the noise is reproducible from a known seed, so this output is NOT "
                     "differentially private (fine for tests and demos, never for real data)\n",
                     static_cast<unsigned long long>(*seed));
        std::fflush(stderr);
        return source(std::in_place_type<dpkit::insecure_seeded_generator>, *seed);
    }

    source source_;
};

}  // namespace example
