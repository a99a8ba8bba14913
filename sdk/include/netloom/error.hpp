// Errors a block reports to the runtime. The runtime prefixes them with the
// composition file, line and block id, so the message says only what is wrong.
#pragma once
#include <stdexcept>
#include <string>

namespace netloom {

// Bad configuration: thrown from Block::configure() or a parameter parser.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bad input data or an I/O failure while running (unreadable file, corrupt
// capture). A source throws it once it has emitted everything valid.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace netloom
