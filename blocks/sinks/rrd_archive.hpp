// The RRD files RRDSink writes, through librrd's thread-safe calls: Tstat's
// layout (spec §9) of one GAUGE data source and four AVERAGE archives.
#pragma once
#include <ctime>
#include <string>
#include <string_view>

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

}  // namespace netloom::rrd
