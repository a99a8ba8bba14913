#include "rrd_archive.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

#include "netloom/error.hpp"
#include "rrd_lib.hpp"

namespace netloom::rrd {
namespace {

// librrd keeps its error text per thread; take it and clear it.
std::string take_error(const Librrd& lib, const char* fallback) {
  const char* e = lib.get_error();
  std::string s = e && *e ? e : fallback;
  lib.clear_error();
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
  try {
    const Librrd& lib = librrd();
    lib.clear_error();
    if (lib.create_r(path.c_str(), step, start, static_cast<int>(argv.size()), argv.data()) != 0)
      return take_error(lib, "rrd_create_r failed");
  } catch (const InputError& e) {
    return e.what();
  }
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
  try {
    const Librrd& lib = librrd();
    lib.clear_error();
    if (lib.update_r(path.c_str(), nullptr, 1, argv) != 0) return take_error(lib, "rrd_update_r failed");
  } catch (const InputError& e) {
    return e.what();
  }
  return {};
}

std::time_t last_update(const std::string& path) {
  try {
    const Librrd& lib = librrd();
    lib.clear_error();
    const std::time_t t = lib.last_r(path.c_str());
    lib.clear_error();
    return t;
  } catch (const InputError&) {
    return 0;  // the update that follows says why
  }
}

UpdateResult update(const std::string& path, const std::vector<Sample>& samples, std::time_t& last) {
  UpdateResult res;
  const Librrd* lib = nullptr;
  try {
    lib = &librrd();
  } catch (const InputError& e) {
    res.errors.push_back(e.what());
    return res;
  }
  std::vector<std::string> text;
  text.reserve(samples.size());
  for (const Sample& s : samples) text.push_back(format_sample(s.t, s.value));
  std::size_t from = 0;
  while (from < samples.size()) {
    std::vector<const char*> argv;
    for (std::size_t i = from; i < samples.size(); ++i) argv.push_back(text[i].c_str());
    lib->clear_error();
    if (lib->update_r(path.c_str(), nullptr, static_cast<int>(argv.size()), argv.data()) == 0) {
      res.written += argv.size();
      last = std::max(last, samples.back().t);
      break;
    }
    // librrd stops at the first sample it refuses, keeping those before it:
    // the file's last update says how far it got.
    res.errors.push_back(take_error(*lib, "rrd_update_r failed"));
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
