// The statistics Tstat writes to RRD archives (spec §9), computed from one
// histogram window: the running statistics of the values added (avg, min,
// max, var, stdev, hit) and the bins (prcP, idxN, idxoth).
#pragma once
#include <string>
#include <vector>

#include "netloom/histogram.hpp"
#include "rrd_conf.hpp"

namespace netloom::rrd {

struct StatValue {
  double value = 0;            // NaN: unknown this window (written as U)
  const char* skip = nullptr;  // set: not written at all, and why
};

// Empty when `h` has Tstat's bin layout ((max-min)/bin + 3 slots), else why not.
std::string layout_error(const HistogramData& h);

// The values of one rrd.conf line's statistics (same order) for `h`, which
// must have a valid layout. Unknown: avg/min/max without samples, var/stdev
// with fewer than two, prc without in-range samples. Skipped: avg, min, max,
// var, stdev, hit and prc of a pseudo-histogram (not meaningful). idx:N is
// the slot N falls into, underflow (N < min) and overflow (N >= max) included.
std::vector<StatValue> compute(const std::vector<Stat>& stats, const HistogramData& h);

}  // namespace netloom::rrd
