// KafkaSink's configuration text: librdkafka properties given inline
// ("key=value,key=value", `\,` for a comma inside a value) or as a file of
// `key=value` lines, and Kafka topic names. Errors are ConfigErrors naming
// the block parameter.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace netloom::kafka {

struct Property {
  std::string key, value;
  std::string where;  // for errors: "parameter 'properties'" or "parameter 'properties_file': FILE:LINE"
};

// "security.protocol=ssl,compression.type=lz4". Blanks around keys and
// values are ignored; empty items are skipped.
std::vector<Property> parse_properties(std::string_view text);

// One `key=value` (or `key: value`) per line; blank lines and lines starting
// with '#' or '!' are ignored.
std::vector<Property> read_properties_file(const std::string& path);

// Throws unless `name` is a legal Kafka topic name.
void check_topic(std::string_view param, std::string_view name);

}  // namespace netloom::kafka
