// KO: copying a secure_generator (which would repeat its stream) must not compile.
#include <dpkit/random/secure_generator.hpp>
#include <utility>
int main() {
    dpkit::secure_generator a;
#ifdef DPKIT_KO
    dpkit::secure_generator b = a;
#else
    dpkit::secure_generator b = std::move(a);
#endif
    return b() == 0 && b() == 0 ? 1 : 0;
}
