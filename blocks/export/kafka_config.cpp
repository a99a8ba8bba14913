#include "kafka_config.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <netloom/error.hpp>

namespace netloom::kafka {
namespace {

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// "key=value" (or "key: value" in a file) into a Property.
Property split(std::string_view item, const std::string& where, bool colon_too) {
  std::size_t eq = item.find('=');
  if (colon_too) {
    const std::size_t colon = item.find(':');
    if (colon < eq) eq = colon;
  }
  if (eq == std::string_view::npos)
    throw ConfigError(where + ": '" + std::string(trim(item)) + "' is not key=value");
  Property p;
  p.key = std::string(trim(item.substr(0, eq)));
  p.value = std::string(trim(item.substr(eq + 1)));
  p.where = where;
  if (p.key.empty()) throw ConfigError(where + ": '" + std::string(trim(item)) + "' has no key");
  return p;
}

}  // namespace

std::vector<Property> parse_properties(std::string_view text) {
  const std::string where = "parameter 'properties'";
  std::vector<Property> out;
  std::string item;
  auto finish = [&] {
    if (!trim(item).empty()) out.push_back(split(item, where, false));
    item.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && (text[i + 1] == ',' || text[i + 1] == '\\')) {
      item += text[++i];
    } else if (c == ',') {
      finish();
    } else {
      item += c;
    }
  }
  finish();
  return out;
}

std::vector<Property> read_properties_file(const std::string& path) {
  std::ifstream f(path);
  if (!f)
    throw ConfigError("parameter 'properties_file': cannot read '" + path + "': " + std::strerror(errno));
  std::vector<Property> out;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    const std::string_view t = trim(line);
    if (t.empty() || t.front() == '#' || t.front() == '!') continue;
    out.push_back(split(t, "parameter 'properties_file': " + path + ":" + std::to_string(n), true));
  }
  if (f.bad()) throw ConfigError("parameter 'properties_file': error reading '" + path + "'");
  return out;
}

void check_topic(std::string_view param, std::string_view name) {
  const std::string p = "parameter '" + std::string(param) + "'";
  if (name.empty()) throw ConfigError(p + " must not be empty");
  if (name.size() > 249 || name == "." || name == "..")
    throw ConfigError(p + ": '" + std::string(name) + "' is not a valid Kafka topic name");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok)
      throw ConfigError(p + ": '" + std::string(name) +
                        "' is not a valid Kafka topic name (letters, digits, '.', '_' and '-' only)");
  }
}

}  // namespace netloom::kafka
