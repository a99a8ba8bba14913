#include "rrd_archive.hpp"

#include <rrd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

namespace netloom::rrd {
namespace {

// librrd keeps its error text per thread; take it and clear it.
std::string take_error(const char* fallback) {
  const char* e = rrd_get_error();
  std::string s = e && *e ? e : fallback;
  rrd_clear_error();
  return s;
}

}  // namespace

std::string ds_name(std::string_view histogram) {
  std::string ds(histogram.substr(0, kMaxDsName));
  for (char& c : ds)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  return ds;
}

std::string create(const std::string& path, std::string_view ds, unsigned long step, std::time_t start) {
  std::vector<std::string> args;
  args.push_back("DS:" + std::string(ds) + ":GAUGE:" + std::to_string(2 * step) + ":U:U");
  for (const Rra& r : kRras)
    args.push_back("RRA:AVERAGE:0.5:" + std::to_string(r.pdp_per_row) + ":" + std::to_string(r.rows));
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  rrd_clear_error();
  if (rrd_create_r(path.c_str(), step, start, static_cast<int>(argv.size()), argv.data()) != 0)
    return take_error("rrd_create_r failed");
  return {};
}

namespace {
// "time:value", formatted without the C locale's help (librrd reads it).
std::string format_sample(std::time_t t, double value) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(t));
  *r.ptr++ = ':';
  if (!std::isfinite(value)) {
    *r.ptr++ = 'U';
  } else {
    r = std::to_chars(r.ptr, buf + sizeof buf - 1, value);
  }
  return std::string(buf, r.ptr);
}
}  // namespace

std::string update(const std::string& path, std::time_t t, double value) {
  const std::string s = format_sample(t, value);
  const char* argv[] = {s.c_str()};
  rrd_clear_error();
  if (rrd_update_r(path.c_str(), nullptr, 1, argv) != 0) return take_error("rrd_update_r failed");
  return {};
}

std::time_t last_update(const std::string& path) {
  rrd_clear_error();
  const std::time_t t = rrd_last_r(path.c_str());
  rrd_clear_error();
  return t;
}

UpdateResult update(const std::string& path, const std::vector<Sample>& samples, std::time_t& last) {
  UpdateResult res;
  std::vector<std::string> text;
  text.reserve(samples.size());
  for (const Sample& s : samples) text.push_back(format_sample(s.t, s.value));
  std::size_t from = 0;
  while (from < samples.size()) {
    std::vector<const char*> argv;
    for (std::size_t i = from; i < samples.size(); ++i) argv.push_back(text[i].c_str());
    rrd_clear_error();
    if (rrd_update_r(path.c_str(), nullptr, static_cast<int>(argv.size()), argv.data()) == 0) {
      res.written += argv.size();
      last = std::max(last, samples.back().t);
      break;
    }
    // librrd stops at the first sample it refuses, keeping those before it:
    // the file's last update says how far it got.
    res.errors.push_back(take_error("rrd_update_r failed"));
    const std::time_t now = last_update(path);
    std::size_t i = from;
    while (i < samples.size() && samples[i].t <= now && samples[i].t > last) ++i;
    res.written += i - from;
    if (now > last) last = now;
    from = i + 1;  // samples[i] was refused
  }
  return res;
}

}  // namespace netloom::rrd
