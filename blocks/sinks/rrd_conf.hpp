// Tstat's rrd.conf (spec §9): which statistics of which histograms go into
// RRD archives. One line per histogram, `<name> <stat>...`, stats among avg,
// min, max, var, stdev, hit, idx:i1,i2,...[,other], prc:p1,p2,...; a line
// holding a '#' anywhere is a comment. See docs/rrd.md.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netloom::rrd {

enum class StatKind { avg, min, max, var, stdev, hit, idx, idx_other, prc };

struct Stat {
  StatKind kind = StatKind::avg;
  std::int64_t index = 0;  // idx: the histogram value whose bin is reported
  double percent = 0;      // prc: 0 < P <= 100
  std::string name;        // as in the file name: avg, idx5, idxoth, prc95, prc99.900
};

struct HistogramConf {
  std::string histogram;
  int line = 0;  // where rrd.conf names it, for messages
  std::vector<Stat> stats;
};

struct Conf {
  std::string source;  // the file (or built-in name) messages refer to
  std::vector<HistogramConf> histograms;
};

// Throws netloom::ConfigError("SOURCE:LINE: ...") naming the bad token.
Conf parse_conf(std::string_view text, const std::string& source);
// Reads and parses a file; ConfigError "FILE: cannot read: ..." if unreadable.
Conf load_conf(const std::string& path);

// The file-name part of a statistic (prc95, prc99.900, idx-3, idxoth...).
std::string stat_name(const Stat& s);
// The inverse, for readers of an RRD directory: nullopt if `name` is not one.
std::optional<Stat> parse_stat_name(std::string_view name);

// Histogram names: letters, digits and '_', at most this long (Tstat's limit).
inline constexpr std::size_t kMaxHistogramName = 39;

}  // namespace netloom::rrd
