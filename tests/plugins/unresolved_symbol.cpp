// References a function nobody defines: loading must fail with rtld_now.
#include <netloom/netloom.hpp>

extern "C" int netloom_symbol_that_does_not_exist(int);

namespace {
class Unresolved final : public netloom::Block {
 public:
  static netloom::BlockInfo info() {
    netloom::BlockInfo i;
    i.type = "Unresolved";
    i.summary = netloom_symbol_that_does_not_exist(1) ? "yes" : "no";
    return i;
  }
};
}  // namespace
NETLOOM_PLUGIN(Unresolved)
