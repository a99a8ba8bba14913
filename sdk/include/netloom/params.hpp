// Typed block parameters: declared once in BlockInfo (name, type, default,
// range, doc, live flag), parsed and range-checked by the runtime before the
// block sees them, printed by `netloom inspect` and the generated docs.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "netloom/error.hpp"

namespace netloom {

enum class ParamType {
  boolean,   // true/false/yes/no/on/off/1/0
  integer,   // signed 64-bit, decimal or 0x hex
  real,      // double
  string,    // free text
  duration,  // "300s", "10ms", "1.5m", "2h", bare number = seconds; held in ns
  size,      // "64MiB", "1k", bare number = bytes; held in bytes
  choice,    // one of a fixed set of strings
};

using ParamValue = std::variant<bool, std::int64_t, double, std::string>;

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::string;
  std::optional<std::string> default_text;  // none = required
  std::string doc;
  std::optional<double> min, max;  // inclusive range for numeric types
  std::vector<std::string> choices;
  bool live = false;  // may change on a running graph without a rebuild

  ParamSpec& range(double lo, double hi) {
    min = lo;
    max = hi;
    return *this;
  }
  ParamSpec& at_least(double lo) {
    min = lo;
    return *this;
  }
  ParamSpec& live_change() {
    live = true;
    return *this;
  }
  ParamSpec& one_of(std::vector<std::string> c) {
    type = ParamType::choice;
    choices = std::move(c);
    return *this;
  }
  bool required() const { return !default_text.has_value(); }
};

namespace detail {
inline ParamSpec make_param(std::string name, ParamType type, std::optional<std::string> def,
                            std::string doc) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_text = std::move(def);
  s.doc = std::move(doc);
  return s;
}
}  // namespace detail

// Builders: param<bool>, param<int64_t>/param<int>, param<double>,
// param<std::string>, duration(), size(), required_param().
template <class T>
ParamSpec param(std::string name, T def, std::string doc);

template <>
inline ParamSpec param<bool>(std::string name, bool def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::boolean, def ? "true" : "false", std::move(doc));
}
template <>
inline ParamSpec param<std::int64_t>(std::string name, std::int64_t def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::integer, std::to_string(def), std::move(doc));
}
template <>
inline ParamSpec param<int>(std::string name, int def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::integer, std::to_string(def), std::move(doc));
}
template <>
inline ParamSpec param<double>(std::string name, double def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::real, std::to_string(def), std::move(doc));
}
template <>
inline ParamSpec param<std::string>(std::string name, std::string def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::string, std::move(def), std::move(doc));
}
template <>
inline ParamSpec param<const char*>(std::string name, const char* def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::string, std::string(def), std::move(doc));
}
inline ParamSpec duration(std::string name, std::string def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::duration, std::move(def), std::move(doc));
}
inline ParamSpec size(std::string name, std::string def, std::string doc) {
  return detail::make_param(std::move(name), ParamType::size, std::move(def), std::move(doc));
}
inline ParamSpec required_param(std::string name, ParamType type, std::string doc) {
  return detail::make_param(std::move(name), type, std::nullopt, std::move(doc));
}

// Parsed values handed to Block::configure(). Every declared parameter is
// present (defaults filled in), already type- and range-checked.
class Params {
 public:
  void set(std::string name, ParamValue v) { values_[std::move(name)] = std::move(v); }
  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }

  bool get_bool(std::string_view n) const { return std::get<bool>(at(n)); }
  std::int64_t get_int(std::string_view n) const { return std::get<std::int64_t>(at(n)); }
  double get_real(std::string_view n) const { return std::get<double>(at(n)); }
  const std::string& get_string(std::string_view n) const { return std::get<std::string>(at(n)); }
  std::int64_t get_duration_ns(std::string_view n) const { return get_int(n); }
  std::int64_t get_size(std::string_view n) const { return get_int(n); }
  const ParamValue& at(std::string_view n) const {
    auto it = values_.find(n);
    if (it == values_.end()) throw ConfigError("parameter '" + std::string(n) + "' is not declared");
    return it->second;
  }
  const std::map<std::string, ParamValue, std::less<>>& all() const { return values_; }

 private:
  std::map<std::string, ParamValue, std::less<>> values_;
};

}  // namespace netloom
