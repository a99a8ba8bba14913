#include "rrd_stats.hpp"

#include <cmath>
#include <limits>
#include <set>

namespace netloom::rrd {
namespace {

constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

std::size_t in_range_bins(const HistogramData& h) { return h.bins.size() - 3; }

// Samples inside [min, max): Tstat's last slot; a pseudo-histogram holds
// values rather than samples in its bins, so its "total" is their sum.
double in_range_total(const HistogramData& h) {
  if (!h.pseudo) return static_cast<double>(h.bins.back());
  double sum = 0;
  for (std::size_t i = 1; i <= in_range_bins(h); ++i) sum += static_cast<double>(h.bins[i]);
  return sum;
}

// Slot value v falls into: 0 below min, 1..n in range, n+1 at or above max.
// Tstat computes (v-min)/bin + 1, which agrees from min to max + bin - 1:
// idx:4 of tcp_opts_* ([1, 4)) reads the overflow slot, "no option".
std::size_t slot_of(const HistogramData& h, std::int64_t v) {
  if (v < h.min) return 0;
  if (v >= h.max) return in_range_bins(h) + 1;
  return static_cast<std::size_t>((v - h.min) / h.bin) + 1;
}

bool in_range(const HistogramData& h, std::size_t slot) { return slot >= 1 && slot <= in_range_bins(h); }

double variance(const HistogramData& h) {
  return h.count < 2 ? kUnknown : h.m2 / static_cast<double>(h.count - 1);
}

// Left edge of the first slot, scanning from the underflow slot, where the
// cumulative count reaches P % of the in-range samples (Tstat counts the
// underflow slot in the running sum but not in the total).
double percentile(const HistogramData& h, double p) {
  const double total = in_range_total(h);
  if (total <= 0) return kUnknown;
  const double want = p / 100.0 * total;
  double cum = 0;
  const std::size_t last = in_range_bins(h) + 1;  // the overflow slot
  for (std::size_t i = 0; i <= last; ++i) {
    cum += static_cast<double>(h.bins[i]);
    if (cum >= want) return static_cast<double>(h.min + (static_cast<std::int64_t>(i) - 1) * h.bin);
  }
  return static_cast<double>(h.max);
}

}  // namespace

std::string layout_error(const HistogramData& h) {
  if (h.bin <= 0) return "bin size " + std::to_string(h.bin) + " is not positive";
  if (h.max <= h.min || (h.max - h.min) % h.bin != 0)
    return "range [" + std::to_string(h.min) + ", " + std::to_string(h.max) +
           ") is not a positive multiple of " + std::to_string(h.bin);
  const auto want = static_cast<std::uint64_t>((h.max - h.min) / h.bin) + 3;
  if (h.bins.size() != want)
    return std::to_string(h.bins.size()) + " slots instead of " + std::to_string(want);
  return {};
}

std::vector<StatValue> compute(const std::vector<Stat>& stats, const HistogramData& h) {
  static constexpr const char* kPseudo = "not meaningful for a bitrate pseudo-histogram";
  // idxoth: the in-range total minus the in-range bins the line's idx name,
  // each bin once (Tstat subtracts twice when two indexes share a bin).
  std::set<std::size_t> named;
  for (const Stat& s : stats)
    if (s.kind == StatKind::idx && in_range(h, slot_of(h, s.index))) named.insert(slot_of(h, s.index));
  double other = in_range_total(h);
  for (std::size_t slot : named) other -= static_cast<double>(h.bins[slot]);

  const bool empty = h.count == 0;
  std::vector<StatValue> out;
  out.reserve(stats.size());
  for (const Stat& s : stats) {
    if (s.kind == StatKind::idx) {
      out.push_back({static_cast<double>(h.bins[slot_of(h, s.index)])});
      continue;
    }
    if (s.kind == StatKind::idx_other) {
      out.push_back({other});
      continue;
    }
    if (h.pseudo) {
      out.push_back({kUnknown, kPseudo});
      continue;
    }
    switch (s.kind) {
      case StatKind::avg:
        out.push_back({empty ? kUnknown : h.mean});
        break;
      case StatKind::min:
        out.push_back({empty ? kUnknown : h.vmin});
        break;
      case StatKind::max:
        out.push_back({empty ? kUnknown : h.vmax});
        break;
      case StatKind::var:
        out.push_back({variance(h)});
        break;
      case StatKind::stdev:
        out.push_back({std::sqrt(variance(h))});
        break;
      case StatKind::hit:
        out.push_back({static_cast<double>(h.count)});
        break;
      default:
        out.push_back({percentile(h, s.percent)});
        break;  // prc
    }
  }
  return out;
}

}  // namespace netloom::rrd
