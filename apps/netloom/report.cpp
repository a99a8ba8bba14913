#include "report.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <utility>

#include "netloom/l7.hpp"
#include "rrd_conf.hpp"
#include "rrd_lib.hpp"

namespace fs = std::filesystem;

namespace netloom::app {
namespace {

using rrd::Stat;
using rrd::StatKind;

std::string rrd_error(const char* fallback) {
  const char* e = rrd::librrd().get_error();
  std::string s = e && *e ? e : fallback;
  rrd::librrd().clear_error();
  return s;
}

// One .rrd file of the directory: <histogram>.<stat>.rrd as RRDSink names
// them; other names are shown as they are.
struct RrdFile {
  fs::path path;
  std::string histogram;
  std::optional<Stat> stat;
  std::vector<std::string> ds;
  std::time_t last = 0;
};

std::optional<RrdFile> open_rrd(const fs::path& p, std::vector<std::string>& warnings) {
  RrdFile f;
  f.path = p;
  std::string base = p.stem().string();
  std::size_t dot = base.find('.');
  f.histogram = base.substr(0, dot);
  if (dot != std::string::npos) f.stat = rrd::parse_stat_name(base.substr(dot + 1));
  if (!f.stat) f.histogram = base;
  unsigned long n = 0;
  char** names = nullptr;
  char** values = nullptr;
  rrd::librrd().clear_error();
  if (rrd::librrd().lastupdate_r(p.c_str(), &f.last, &n, &names, &values) != 0) {
    warnings.push_back(p.string() + ": not read: " + rrd_error("rrd_lastupdate_r failed"));
    return std::nullopt;
  }
  for (unsigned long i = 0; i < n; ++i) {
    f.ds.emplace_back(names[i]);
    rrd::librrd().freemem(names[i]);
    rrd::librrd().freemem(values[i]);
  }
  rrd::librrd().freemem(names);
  rrd::librrd().freemem(values);
  return f;
}

// Start of the first known value in the two days before `end`, at the finest
// resolution the file has (Tstat's first archive holds 600 steps of 300 s).
std::optional<std::time_t> first_known(const RrdFile& f, std::time_t end) {
  std::time_t start = std::max<std::time_t>(0, end - 2 * 86400), stop = end;
  unsigned long step = 1, nds = 0;
  char** names = nullptr;
  rrd_value_t* data = nullptr;
  rrd::librrd().clear_error();
  if (rrd::librrd().fetch_r(f.path.c_str(), "AVERAGE", &start, &stop, &step, &nds, &names, &data) != 0) {
    rrd::librrd().clear_error();
    return std::nullopt;
  }
  std::optional<std::time_t> first;
  const unsigned long rows = step ? static_cast<unsigned long>(stop - start) / step : 0;
  // Row r holds the interval (start + r*step, start + (r+1)*step].
  for (unsigned long r = 0; r < rows && !first; ++r)
    for (unsigned long d = 0; d < nds; ++d)
      if (!std::isnan(data[r * nds + d])) first = start + static_cast<std::time_t>(r * step);
  for (unsigned long d = 0; d < nds; ++d) rrd::librrd().freemem(names[d]);
  rrd::librrd().freemem(names);
  rrd::librrd().freemem(data);
  return first;
}

// ---- what to draw ----------------------------------------------------------

enum class Section { traffic, flows, rtt, other };
constexpr const char* kSectionTitles[] = {"Traffic volume", "Flows per class", "TCP round-trip times",
                                          "Other histograms"};

// The files of one histogram fall into these graphs (each file into one).
enum class Group { stats, percentiles, indexes, var, hit, values };
constexpr const char* kGroupNames[] = {"stats", "prc", "idx", "var", "hit", "values"};

Group group_of(const RrdFile& f) {
  if (!f.stat) return Group::values;
  switch (f.stat->kind) {
    case StatKind::avg:
    case StatKind::min:
    case StatKind::max:
    case StatKind::stdev:
      return Group::stats;
    case StatKind::prc:
      return Group::percentiles;
    case StatKind::idx:
    case StatKind::idx_other:
      return Group::indexes;
    case StatKind::var:
      return Group::var;
    case StatKind::hit:
      return Group::hit;
  }
  return Group::values;
}

// Order of files inside a graph: avg, min, max, stdev; indexes ascending
// with "other" last; percentiles ascending.
double order_of(const RrdFile& f) {
  if (!f.stat) return 0;
  switch (f.stat->kind) {
    case StatKind::avg:
      return 0;
    case StatKind::min:
      return 1;
    case StatKind::max:
      return 2;
    case StatKind::stdev:
      return 3;
    case StatKind::idx:
      return static_cast<double>(f.stat->index);
    case StatKind::idx_other:
      return INFINITY;
    case StatKind::prc:
      return f.stat->percent;
    default:
      return 0;
  }
}

struct Graph {
  Section section = Section::other;
  std::string png, title, vlabel;
  bool stack = false;  // areas stacked (indexes are a partition of the samples)
  std::vector<const RrdFile*> files;
  std::vector<std::string> legends;
};

std::string suffix_words(const std::string& dir) { return dir.empty() ? "" : " (" + dir + ")"; }

// "95", "99.900": as in the file name.
std::string format_percent(double p) { return rrd::stat_name(Stat{StatKind::prc, 0, p, {}}).substr(3); }

// Legend of one file; `names` maps idx values to class names where known.
std::string legend_of(const RrdFile& f, const std::vector<std::string_view>& names) {
  if (!f.stat) return f.histogram;
  switch (f.stat->kind) {
    case StatKind::avg:
      return "average";
    case StatKind::min:
      return "minimum";
    case StatKind::max:
      return "maximum";
    case StatKind::stdev:
      return "standard deviation";
    case StatKind::var:
      return "variance";
    case StatKind::hit:
      return "samples";
    case StatKind::idx_other:
      return "other";
    case StatKind::prc:
      return format_percent(f.stat->percent) + "th percentile";
    case StatKind::idx: {
      const auto i = f.stat->index;
      if (i >= 0 && static_cast<std::size_t>(i) < names.size())
        return std::string(names[static_cast<std::size_t>(i)]);
      return "value " + std::to_string(i);
    }
  }
  return f.stat->name;
}

std::vector<std::string_view> l7_names() { return {l7::kNames.begin(), l7::kNames.end()}; }

// The title, labels and section of one histogram's group of files.
void describe(Graph& g, const std::string& hist, Group group) {
  static const std::regex bitrate("ip_bitrate_(\\w+)"), flows("L7_(TCP|UDP)_num_(\\w+)"),
      rtt("tcp_rtt_(min|avg|max|stdev)_(\\w+)");
  std::smatch m;
  std::vector<std::string_view> names;
  if (group == Group::indexes && std::regex_match(hist, m, bitrate)) {
    g.section = Section::traffic;
    g.title = "IP traffic" + suffix_words(m[1]);
    g.vlabel = "bit/s";
    names = {"TCP", "UDP", "ICMP", "all IP"};  // and all IP is their sum: lines, not stacked
  } else if (group == Group::indexes && std::regex_match(hist, m, flows)) {
    g.section = Section::flows;
    g.title = std::string(m[1]) + " flows per class" + suffix_words(m[2]);
    g.vlabel = "flows per window";
    g.stack = true;
    names = l7_names();
  } else if (group == Group::percentiles && std::regex_match(hist, m, rtt)) {
    g.section = Section::rtt;
    g.title = "TCP RTT " + std::string(m[1]) + " per flow, percentiles" + suffix_words(m[2]);
    g.vlabel = "ms";
  } else {
    static const char* const kWhat[] = {"",         "percentiles",        "counts per value",
                                        "variance", "samples per window", "values"};
    g.title = hist + ": " + kWhat[static_cast<int>(group)];
    g.stack = group == Group::indexes;
  }
  for (const RrdFile* f : g.files) g.legends.push_back(legend_of(*f, names));
  if (g.title.ends_with(": "))  // avg, min, max, stdev: whichever the directory has
    for (std::size_t i = 0; i < g.legends.size(); ++i) g.title += (i ? ", " : "") + g.legends[i];
}

std::vector<Graph> plan(const std::vector<RrdFile>& files) {
  std::map<std::pair<std::string, Group>, std::vector<const RrdFile*>> groups;
  for (const RrdFile& f : files) groups[{f.histogram, group_of(f)}].push_back(&f);
  std::vector<Graph> graphs;
  for (auto& [key, members] : groups) {
    std::stable_sort(members.begin(), members.end(),
                     [](const RrdFile* a, const RrdFile* b) { return order_of(*a) < order_of(*b); });
    Graph g;
    g.files = members;
    g.png = key.first + "." + kGroupNames[static_cast<int>(key.second)] + ".png";
    for (char& c : g.png)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) c = '_';
    describe(g, key.first, key.second);
    graphs.push_back(std::move(g));
  }
  std::stable_sort(graphs.begin(), graphs.end(),
                   [](const Graph& a, const Graph& b) { return a.section < b.section; });
  return graphs;
}

// librrd's graph refuses to fetch data before this (1979-12-30 UTC).
constexpr std::time_t kFirstGraphTime = 315360000;

// rrdtool's time syntax reads a plain number up to 315360000 as a date or a
// month, so such times (e.g. "--start 599") are written as an offset from a
// larger one.
std::string time_spec(std::time_t t) {
  constexpr std::time_t kRef = 400000000;
  return t >= kRef ? std::to_string(t) : std::to_string(kRef) + "-" + std::to_string(kRef - t) + "s";
}

// A plain number is epoch seconds, whatever its size; anything else is
// left to rrdtool's time syntax.
std::string as_time_spec(const std::string& spec) {
  std::time_t t = 0;
  auto [p, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), t);
  return !spec.empty() && ec == std::errc() && p == spec.data() + spec.size() ? time_spec(t) : spec;
}

// ---- rendering --------------------------------------------------------------

// rrdtool's graph syntax separates fields with ':'; one inside a value is "\:".
std::string escape_colons(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

constexpr const char* kColours[] = {"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b",
                                    "e377c2", "7f7f7f", "bcbd22", "17becf", "393b79", "637939",
                                    "8c6d31", "843c39", "7b4173", "3182bd"};

std::string render(const Graph& g, const fs::path& png, const ReportOptions& o, std::time_t start,
                   std::time_t end) {
  std::vector<std::string> args = {"graph",
                                   png.string(),
                                   "--imgformat=PNG",
                                   "--full-size-mode",
                                   "--width=" + std::to_string(o.width),
                                   "--height=" + std::to_string(o.height),
                                   "--start=" + time_spec(start),
                                   "--end=" + time_spec(end),
                                   "--title=" + g.title,
                                   "--vertical-label=" + g.vlabel};
  if (g.stack) args.push_back("--lower-limit=0");
  for (std::size_t i = 0; i < g.files.size(); ++i) {
    const RrdFile& f = *g.files[i];
    const std::string colour = kColours[i % std::size(kColours)];
    for (std::size_t d = 0; d < f.ds.size(); ++d) {
      const std::string v = "v" + std::to_string(i) + "_" + std::to_string(d);
      args.push_back("DEF:" + v + "=" + escape_colons(f.path.string()) + ":" + f.ds[d] + ":AVERAGE");
      std::string legend = escape_colons(f.ds.size() > 1 ? g.legends[i] + " " + f.ds[d] : g.legends[i]);
      if (g.stack)
        args.push_back("AREA:" + v + "#" + colour + ":" + legend + (i || d ? ":STACK" : ""));
      else
        args.push_back("LINE1:" + v + "#" + colour + ":" + legend);
    }
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  rrd::librrd().clear_error();
  rrd_info_t* info = rrd::librrd().graph_v(static_cast<int>(argv.size()), argv.data());
  if (info == nullptr) return rrd_error("rrd_graph_v failed");
  rrd::librrd().info_free(info);
  return {};
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[64];
  return std::string(b, std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm));
}

void write_index(const fs::path& out, const ReportOptions& o, const Report& r) {
  std::ofstream f(out / "index.html", std::ios::trunc);
  f << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>netloom report</title>\n"
    << "<style>body{font-family:sans-serif} figure{display:inline-block;margin:6px}</style></head>\n"
    << "<body>\n<h1>netloom report</h1>\n<p>" << html_escape(o.rrd_dir) << ": " << utc(r.start) << " to "
    << utc(r.end) << ", " << r.graphs.size() << " graphs.</p>\n";
  for (std::size_t i = 0; i < r.graphs.size(); ++i) {
    if (i == 0 || r.graphs[i].section != r.graphs[i - 1].section)
      f << "<h2>" << html_escape(r.graphs[i].section) << "</h2>\n";
    const std::string t = html_escape(r.graphs[i].title);
    f << "<figure><img src=\"" << html_escape(r.graphs[i].png) << "\" width=\"" << o.width << "\" height=\""
      << o.height << "\" alt=\"" << t << "\"><figcaption>" << t << "</figcaption></figure>\n";
  }
  f << "</body></html>\n";
  f.close();
  if (!f) throw std::runtime_error((out / "index.html").string() + ": cannot write");
}

// Resolves rrdtool time specifications (both may refer to the other).
std::pair<std::time_t, std::time_t> resolve_range(const std::string& start_text,
                                                  const std::string& end_text) {
  const std::string start = as_time_spec(start_text), end = as_time_spec(end_text);
  rrd_time_value_t s{}, e{};
  if (const char* err = rrd::librrd().parsetime(start.c_str(), &s))
    throw std::runtime_error("--start '" + start_text + "': " + err);
  if (const char* err = rrd::librrd().parsetime(end.c_str(), &e))
    throw std::runtime_error("--end '" + end_text + "': " + err);
  std::time_t a = 0, b = 0;
  rrd::librrd().clear_error();
  if (rrd::librrd().proc_start_end(&s, &e, &a, &b) != 0)
    throw std::runtime_error("time range '" + start_text + "' to '" + end_text +
                             "': " + rrd_error("invalid"));
  if (a >= b)
    throw std::runtime_error("time range '" + start_text + "' to '" + end_text +
                             "': start is not before end");
  return {a, b};
}

}  // namespace

Report render_report(const ReportOptions& o) {
  Report r;
  std::error_code ec;
  if (!fs::is_directory(o.rrd_dir, ec)) throw std::runtime_error(o.rrd_dir + ": not a directory");
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(o.rrd_dir, ec))
    if (e.path().extension() == ".rrd" && e.is_regular_file()) paths.push_back(e.path());
  if (ec) throw std::runtime_error(o.rrd_dir + ": cannot list: " + ec.message());
  if (paths.empty()) throw std::runtime_error(o.rrd_dir + ": no .rrd files");
  std::sort(paths.begin(), paths.end());

  std::vector<RrdFile> files;
  for (const auto& p : paths)
    if (auto f = open_rrd(p, r.warnings)) files.push_back(std::move(*f));
  if (files.empty()) throw std::runtime_error(o.rrd_dir + ": no readable .rrd files");

  // Packet time, not the wall clock: the archives end at their last update.
  std::time_t last = 0;
  for (const auto& f : files) last = std::max(last, f.last);
  std::string start = o.start, end = o.end.empty() ? std::to_string(last) : o.end;
  if (start.empty()) {
    std::optional<std::time_t> first;
    for (const auto& f : files)
      if (auto t = first_known(f, last); t && (!first || *t < *first)) first = t;
    start = std::to_string(first && *first < last ? *first : std::max<std::time_t>(0, last - 86400));
  }
  std::tie(r.start, r.end) = resolve_range(start, end);
  // Captures stamped near 1970 make archives librrd can write but not graph.
  if (r.end <= kFirstGraphTime)
    throw std::runtime_error(o.rrd_dir + ": the time range ends at " + std::to_string(r.end) + " (" +
                             utc(r.end) + "): librrd cannot graph times before " + utc(kFirstGraphTime));
  if (r.start < kFirstGraphTime) {
    r.warnings.push_back("start " + std::to_string(r.start) + " moved to " + std::to_string(kFirstGraphTime) +
                         ": librrd cannot graph earlier times");
    r.start = kFirstGraphTime;
  }

  fs::create_directories(o.out_dir, ec);
  if (ec || !fs::is_directory(o.out_dir, ec))
    throw std::runtime_error(o.out_dir + ": cannot create: " + (ec ? ec.message() : "not a directory"));

  for (const Graph& g : plan(files)) {
    if (std::string err = render(g, fs::path(o.out_dir) / g.png, o, r.start, r.end); !err.empty()) {
      r.warnings.push_back(g.png + ": not rendered: " + err);
      continue;
    }
    r.graphs.push_back({g.png, g.title, kSectionTitles[static_cast<int>(g.section)]});
  }
  if (r.graphs.empty())
    throw std::runtime_error(o.rrd_dir + ": no graph could be rendered" +
                             (r.warnings.empty() ? "" : " (" + r.warnings.front() + ")"));
  write_index(o.out_dir, o, r);
  return r;
}

}  // namespace netloom::app
