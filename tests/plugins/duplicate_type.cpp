// Declares a type the test plugin already provides.
#include <netloom/netloom.hpp>

namespace {
class Dup final : public netloom::Block {
 public:
  static netloom::BlockInfo info() {
    netloom::BlockInfo i;
    i.type = "TestSink";
    i.summary = "duplicate";
    return i;
  }
};
}  // namespace
NETLOOM_PLUGIN(Dup)
