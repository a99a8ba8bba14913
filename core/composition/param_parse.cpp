// Parameter text -> typed ParamValue, and back. See docs/composition.md,
// "Parameter values", for the accepted syntax.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "composition/composition.hpp"

namespace netloom::core {

namespace {

using i128 = __int128;
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

[[noreturn]] void fail(const ParamSpec& spec, std::string_view text, std::string_view what) {
  throw ConfigError("parameter '" + spec.name + "': '" + std::string(text) + "' " + std::string(what));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A number for messages: integral values without exponent, others shortest.
std::string num_text(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e18) return std::to_string(static_cast<long long>(v));
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string format_duration(std::int64_t ns) {
  static constexpr struct {
    std::int64_t mul;
    const char* suffix;
  } kUnits[] = {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}, {1, "ns"}};
  if (ns == 0) return "0s";
  for (const auto& u : kUnits)
    if (ns % u.mul == 0) return std::to_string(ns / u.mul) + u.suffix;
  return std::to_string(ns) + "ns";
}

std::string format_size(std::int64_t bytes) {
  static constexpr struct {
    std::int64_t mul;
    const char* suffix;
  } kUnits[] = {{std::int64_t{1} << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}};
  if (bytes != 0)
    for (const auto& u : kUnits)
      if (bytes % u.mul == 0) return std::to_string(bytes / u.mul) + u.suffix;
  return std::to_string(bytes) + "B";
}

// Range bound as the user would write it for this type.
std::string bound_text(const ParamSpec& spec, double b) {
  switch (spec.type) {
    case ParamType::duration:
      if (std::fabs(b) < 9e9) return format_duration(static_cast<std::int64_t>(std::llround(b * 1e9)));
      return num_text(b) + "s";
    case ParamType::size:
      if (std::floor(b) == b && std::fabs(b) < 9e18) return format_size(static_cast<std::int64_t>(b));
      return num_text(b) + "B";
    default:
      return num_text(b);
  }
}

// Range check; `v` is in the unit of spec.min/max (seconds for durations).
void check_range(const ParamSpec& spec, std::string_view text, double v) {
  if (spec.min && v < *spec.min) fail(spec, text, "is below the minimum " + bound_text(spec, *spec.min));
  if (spec.max && v > *spec.max) fail(spec, text, "is above the maximum " + bound_text(spec, *spec.max));
}

bool parse_bool(std::string_view t, bool& out) {
  std::string l = lower(t);
  if (l == "true" || l == "yes" || l == "on" || l == "1") {
    out = true;
    return true;
  }
  if (l == "false" || l == "no" || l == "off" || l == "0") {
    out = false;
    return true;
  }
  return false;
}

enum class IntResult { ok, syntax, overflow };

IntResult parse_int(std::string_view t, std::int64_t& out) {
  bool neg = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    neg = t[0] == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (t.size() >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty() || t[0] == '+' || t[0] == '-') return IntResult::syntax;
  std::uint64_t mag = 0;
  auto r = std::from_chars(t.data(), t.data() + t.size(), mag, base);
  // from_chars consumes every digit even when the value overflows, so
  // anything left over is junk
  if (r.ptr != t.data() + t.size()) return IntResult::syntax;
  if (r.ec == std::errc::result_out_of_range) return IntResult::overflow;
  if (r.ec != std::errc()) return IntResult::syntax;
  if (neg) {
    if (mag > static_cast<std::uint64_t>(kI64Max) + 1) return IntResult::overflow;
    out = mag == static_cast<std::uint64_t>(kI64Max) + 1 ? std::numeric_limits<std::int64_t>::min()
                                                         : -static_cast<std::int64_t>(mag);
  } else {
    if (mag > static_cast<std::uint64_t>(kI64Max)) return IntResult::overflow;
    out = static_cast<std::int64_t>(mag);
  }
  return IntResult::ok;
}

// Exact decimal "123", "1.5", ".5", "2." (no sign, no exponent) split into
// whole + frac / den. Fractional digits past the 20th are ignored (far below
// a nanosecond or a byte for every unit).
enum class UnitResult { ok, syntax, overflow, negative };

UnitResult parse_decimal(std::string_view t, i128& whole, i128& frac, i128& den) {
  whole = 0;
  frac = 0;
  den = 1;
  auto dot = t.find('.');
  std::string_view ip = t.substr(0, dot);
  std::string_view fp = dot == std::string_view::npos ? std::string_view{} : t.substr(dot + 1);
  if (ip.empty() && fp.empty()) return UnitResult::syntax;
  if (!std::all_of(ip.begin(), ip.end(), is_digit) || !std::all_of(fp.begin(), fp.end(), is_digit))
    return UnitResult::syntax;
  while (ip.size() > 1 && ip[0] == '0') ip.remove_prefix(1);
  if (ip.size() > 19) return UnitResult::overflow;
  for (char c : ip) whole = whole * 10 + (c - '0');
  for (std::size_t i = 0; i < fp.size() && i < 20; ++i) {
    frac = frac * 10 + (fp[i] - '0');
    den *= 10;
  }
  return UnitResult::ok;
}

// "<decimal><unit>" with optional blanks between. unit_of returns the
// multiplier or 0 for an unknown unit. Result rounded to the nearest unit.
template <class UnitFn>
UnitResult parse_with_unit(std::string_view t, UnitFn unit_of, std::int64_t& out) {
  bool neg = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    neg = t[0] == '-';
    t.remove_prefix(1);
  }
  std::size_t i = 0;
  while (i < t.size() && (is_digit(t[i]) || t[i] == '.')) ++i;
  std::string_view number = t.substr(0, i);
  std::string_view unit = trim(t.substr(i));
  std::int64_t mul = unit_of(unit);
  if (mul == 0) return UnitResult::syntax;
  i128 whole, frac, den;
  UnitResult r = parse_decimal(number, whole, frac, den);
  if (r != UnitResult::ok) return r;
  if (neg && (whole != 0 || frac != 0)) return UnitResult::negative;
  // whole < 10^19 < 2^64 and mul < 2^57; frac < den <= 10^20 < 2^67: no 128-bit overflow
  i128 v = whole * mul + (frac * mul + den / 2) / den;
  if (v > kI64Max) return UnitResult::overflow;
  out = static_cast<std::int64_t>(v);
  return UnitResult::ok;
}

std::int64_t duration_unit(std::string_view u) {
  if (u.empty() || u == "s") return 1'000'000'000;
  if (u == "ns") return 1;
  if (u == "us") return 1'000;
  if (u == "ms") return 1'000'000;
  if (u == "m") return 60'000'000'000;
  if (u == "h") return 3'600'000'000'000;
  if (u == "d") return 86'400'000'000'000;
  return 0;
}

std::int64_t size_unit(std::string_view u) {
  constexpr std::int64_t K = 1024;
  if (u.empty() || u == "B") return 1;
  if (u == "k" || u == "K" || u == "KiB") return K;
  if (u == "M" || u == "MiB") return K * K;
  if (u == "G" || u == "GiB") return K * K * K;
  if (u == "T" || u == "TiB") return K * K * K * K;
  if (u == "kB" || u == "KB") return 1000;
  if (u == "MB") return 1000'000;
  if (u == "GB") return 1000'000'000;
  if (u == "TB") return 1000'000'000'000;
  return 0;
}

}  // namespace

std::string param_type_name(ParamType t) {
  switch (t) {
    case ParamType::boolean:
      return "bool";
    case ParamType::integer:
      return "int";
    case ParamType::real:
      return "real";
    case ParamType::string:
      return "string";
    case ParamType::duration:
      return "duration";
    case ParamType::size:
      return "size";
    case ParamType::choice:
      return "choice";
  }
  return "unknown";
}

ParamValue parse_param_value(const ParamSpec& spec, std::string_view raw) {
  if (spec.type == ParamType::string) return std::string(raw);
  std::string_view t = trim(raw);
  switch (spec.type) {
    case ParamType::boolean: {
      bool b = false;
      if (!parse_bool(t, b)) fail(spec, raw, "is not a boolean (use true/false, yes/no, on/off or 1/0)");
      return b;
    }
    case ParamType::integer: {
      std::int64_t v = 0;
      switch (parse_int(t, v)) {
        case IntResult::syntax:
          fail(spec, raw, "is not an integer");
        case IntResult::overflow:
          fail(spec, raw, "is outside the 64-bit integer range");
        case IntResult::ok:
          break;
      }
      check_range(spec, raw, static_cast<double>(v));
      return v;
    }
    case ParamType::real: {
      std::string_view n = t;
      bool plus = !n.empty() && n[0] == '+';
      if (plus) n.remove_prefix(1);
      double v = 0;
      auto r = std::from_chars(n.data(), n.data() + n.size(), v);
      bool full = !n.empty() && r.ptr == n.data() + n.size() && !(plus && n[0] == '-');
      if (!full || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range))
        fail(spec, raw, "is not a number");
      if (r.ec == std::errc::result_out_of_range) {
        // from_chars reports both overflow and underflow; underflow is fine (0 or denormal)
        std::string l = lower(n);
        auto e = l.find('e');
        if (e == std::string::npos || (e + 1 < l.size() && l[e + 1] != '-'))
          fail(spec, raw, "is outside the range of a real number");
        v = 0.0;
      }
      if (!std::isfinite(v)) fail(spec, raw, "is not a finite number");
      check_range(spec, raw, v);
      return v;
    }
    case ParamType::duration: {
      std::int64_t ns = 0;
      switch (parse_with_unit(t, duration_unit, ns)) {
        case UnitResult::syntax:
          fail(spec, raw, "is not a duration (a number with an optional unit ns, us, ms, s, m, h or d)");
        case UnitResult::negative:
          fail(spec, raw, "is a negative duration");
        case UnitResult::overflow:
          fail(spec, raw, "is too long (the limit is about 292 years)");
        case UnitResult::ok:
          break;
      }
      check_range(spec, raw, static_cast<double>(ns) / 1e9);
      return ns;
    }
    case ParamType::size: {
      std::int64_t bytes = 0;
      switch (parse_with_unit(t, size_unit, bytes)) {
        case UnitResult::syntax:
          fail(spec, raw,
               "is not a size (a number with an optional unit B, k/K/KiB, M/MiB, G/GiB, T/TiB, "
               "KB, MB, GB or TB)");
        case UnitResult::negative:
          fail(spec, raw, "is a negative size");
        case UnitResult::overflow:
          fail(spec, raw, "is too large (the limit is 8EiB)");
        case UnitResult::ok:
          break;
      }
      check_range(spec, raw, static_cast<double>(bytes));
      return bytes;
    }
    case ParamType::choice: {
      if (std::find(spec.choices.begin(), spec.choices.end(), t) != spec.choices.end()) return std::string(t);
      std::string list;
      for (const auto& c : spec.choices) list += (list.empty() ? "" : ", ") + c;
      fail(spec, raw,
           spec.choices.empty() ? "is not allowed (no choices are declared)" : "is not one of: " + list);
    }
    case ParamType::string:
      break;
  }
  return std::string(raw);
}

std::string format_param_value(const ParamSpec& spec, const ParamValue& v) {
  auto wrong = [&]() -> std::string {
    throw ConfigError("parameter '" + spec.name + "': value does not hold a " + param_type_name(spec.type));
  };
  switch (spec.type) {
    case ParamType::boolean:
      if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
      return wrong();
    case ParamType::integer:
      if (auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
      return wrong();
    case ParamType::duration:
      if (auto* i = std::get_if<std::int64_t>(&v)) return format_duration(*i);
      return wrong();
    case ParamType::size:
      if (auto* i = std::get_if<std::int64_t>(&v)) return format_size(*i);
      return wrong();
    case ParamType::real:
      if (auto* d = std::get_if<double>(&v)) {
        char buf[64];
        auto r = std::to_chars(buf, buf + sizeof buf, *d);
        return std::string(buf, r.ptr);
      }
      return wrong();
    case ParamType::string:
    case ParamType::choice:
      if (auto* s = std::get_if<std::string>(&v)) return *s;
      return wrong();
  }
  return wrong();
}

}  // namespace netloom::core
