// The RRD files RRDSink writes, through librrd's thread-safe calls: Tstat's
// layout (spec §9) of one GAUGE data source and four AVERAGE archives.
#pragma once
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace netloom::rrd {

inline constexpr std::size_t kMaxDsName = 19;  // rrdtool's limit on DS names

struct Rra {
  unsigned long pdp_per_row, rows;
};
// 1 step x 600 (~2 days at 300 s), 6 x 700 (~2 weeks), 24 x 775 (~2 months),
// 288 x 797 (~2 years); consolidated with AVERAGE, xff 0.5.
inline constexpr Rra kRras[] = {{1, 600}, {6, 700}, {24, 775}, {288, 797}};

// The histogram name cut to 19 characters, anything outside [A-Za-z0-9_] as '_'.
std::string ds_name(std::string_view histogram);

// Creates `path` (step seconds, last update `start`): DS:<ds>:GAUGE:2*step:U:U
// and kRras. Returns librrd's error text, empty on success.
std::string create(const std::string& path, std::string_view ds, unsigned long step, std::time_t start);

// One value at time t (NaN and infinities are written as U). Returns librrd's error text.
std::string update(const std::string& path, std::time_t t, double value);

struct Sample {
  std::time_t t;
  double value;
};
struct UpdateResult {
  std::size_t written = 0;          // samples now in the file
  std::vector<std::string> errors;  // librrd's text, one per sample refused
};
// Several samples (increasing times) in as few librrd calls as possible: one
// open/map/unmap of the file instead of one per sample. `last` is the file's
// last update before the call (samples at or before it are refused); on
// return it is the file's last update. A refused sample is reported and
// skipped; the ones after it are still written.
UpdateResult update(const std::string& path, const std::vector<Sample>& samples, std::time_t& last);
// The file's last update time (rrd_last_r), -1 if unreadable.
std::time_t last_update(const std::string& path);

}  // namespace netloom::rrd
