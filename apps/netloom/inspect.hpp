// `netloom inspect`: block self-descriptions as text (like gst-inspect) or
// as Markdown (the generated block reference in docs/blocks.md).
#pragma once
#include <string>

#include "runtime/registry.hpp"

namespace netloom::app {

std::string list_types(const core::Registry& reg);
std::string describe_type(const core::BlockType& type);
std::string markdown_reference(const core::Registry& reg);

}  // namespace netloom::app
