// One histogram in Tstat's model (spec §8): (max-min)/bin + 3 slots, the
// running statistics RRD consumers want, the per-window text format and the
// GLOBAL format. Bitrate pseudo-histograms accumulate bytes per category and
// turn them into bit/s when the window ends.
#pragma once
#include <cstdint>
#include <netloom/histogram.hpp>
#include <string>
#include <vector>

#include "histo_defs.hpp"

namespace netloom::histo {

class Histogram {
 public:
  // A histogram of the table (its name, description and range).
  explicit Histogram(const Def& def);
  // A free-standing one (tests, other blocks).
  Histogram(std::string name, std::string description, std::int64_t min, std::int64_t max, std::int64_t bin,
            bool pseudo = false);

  // Adds `v` n times. NaN and infinities are ignored (as in Tstat).
  void add(double v, std::uint64_t n = 1);
  // add(v) for an integer sample, the same bins and statistics with integer
  // index arithmetic (the per-packet header fields and ports).
  void add_int(std::int64_t v) {
    std::size_t i;
    if (v < min_) {
      i = 0;
    } else if (v >= max_) {
      i = slots_ + 1;
    } else {
      const auto off = static_cast<std::uint64_t>(v - min_);
      i = static_cast<std::size_t>(bin_ == 1 ? off : off / static_cast<std::uint64_t>(bin_)) + 1;
      ++bins_[slots_ + 2];
    }
    ++bins_[i];
    // Integer sums (exact, and no floating-point dependency chain on the
    // packet path); combined with add()'s shifted sums when read.
    ++icount_;
    isum_ += v;
    const auto a = static_cast<unsigned __int128>(v < 0 ? -static_cast<__int128>(v) : v);
    isq_ += a * a;
    imin_ = v < imin_ ? v : imin_;
    imax_ = v > imax_ ? v : imax_;
  }
  // Pseudo-histograms: bytes seen for `category` (slot category+1).
  void add_bytes(std::size_t category, std::uint64_t bytes) {
    if (category < bytes_.size()) bytes_[category] += bytes;
  }
  // Pseudo-histograms: slot i+1 = bytes of category i * 8000 / elapsed_ms
  // (bit/s, truncated); 0 everywhere when elapsed_ms <= 0.
  void finish_rates(double elapsed_ms);
  // Empties bins, statistics and byte counters.
  void reset();
  // Adds another histogram of the same shape (bins and statistics): GLOBAL.
  void merge(const Histogram& o);

  // Number of in-range bins, n = (max-min)/bin.
  std::size_t slots() const { return slots_; }
  // [0] below min, [1..n] in range, [n+1] at or above max, [n+2] in-range samples.
  const std::vector<std::uint64_t>& bins() const { return bins_; }
  std::uint64_t total() const;  // samples in [0..n+1]
  bool empty() const { return total() == 0 && count() == 0; }
  // Left edge printed for slot i: min + (i-1)*bin (min-bin below, max above).
  std::int64_t edge(std::size_t slot) const { return min_ + (static_cast<std::int64_t>(slot) - 1) * bin_; }

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  std::int64_t min() const { return min_; }
  std::int64_t max() const { return max_; }
  std::int64_t bin() const { return bin_; }
  bool pseudo() const { return pseudo_; }
  std::uint64_t count() const { return count_ + icount_; }
  double mean() const { return stats().mean; }
  double m2() const { return stats().m2; }  // sum of squared deviations from the mean
  double vmin() const { return stats().vmin; }
  double vmax() const { return stats().vmax; }

  // Per-window file: "#description", "#RANGE: min=.. bin_size=.. max=..",
  // then "<edge> <count>" for every non-zero slot.
  std::string text() const;
  // GLOBAL/ file: the two header lines, "#SAMPLES: <min=U valid=V >max=O tot=T",
  // then "<edge> <pdf> <cdf>" (fractions of tot) for every non-zero slot.
  std::string global_text() const;
  // The window message's copy.
  HistogramData data() const;
  // The same into an existing HistogramData, reusing its storage.
  void fill(HistogramData& d) const;
  // As fill(), but the bins change places with d's (no copy of the
  // megabytes of port histograms), and this histogram is left empty as
  // reset() leaves it. d's old bins are cleared here unless `d_bins_zero`
  // says they already are (the writer thread clears them: docs/histograms.md).
  void move_into(HistogramData& d, bool d_bins_zero = false);

 private:
  void fill_except_bins(HistogramData& d) const;
  struct Stats {
    std::uint64_t count = 0;
    double mean = 0, m2 = 0, vmin = 0, vmax = 0;
  };
  // add()'s and add_int()'s samples together.
  Stats stats() const;
  static Stats combine(const Stats& a, const Stats& b);
  void clear_stats();
  // The running statistics of n samples v: sums of (v - shift) and its
  // square, shift = the first value (no division per sample, as stable as
  // Welford's while the shift is a typical value).
  void note(double v, std::uint64_t n) {
    const double k = static_cast<double>(n);
    if (count_ == 0) {
      shift_ = vmin_ = vmax_ = v;
    } else {
      if (v < vmin_) vmin_ = v;
      if (v > vmax_) vmax_ = v;
    }
    const double d = v - shift_;
    count_ += n;
    s1_ += d * k;
    s2_ += d * d * k;
  }

  std::string name_, description_;
  std::int64_t min_, max_, bin_;
  std::size_t slots_;  // (max-min)/bin, kept: add() would divide for it
  bool pseudo_;
  std::vector<std::uint64_t> bins_;
  std::vector<std::uint64_t> bytes_;  // pseudo only: per category
  std::uint64_t count_ = 0;
  // Running statistics as sums of the samples shifted by shift_ (add()).
  double shift_ = 0, s1_ = 0, s2_ = 0, vmin_ = 0, vmax_ = 0;
  // add_int()'s samples: count, sum, sum of squares, extremes.
  std::uint64_t icount_ = 0;
  __int128 isum_ = 0;
  unsigned __int128 isq_ = 0;
  std::int64_t imin_ = INT64_MAX, imax_ = INT64_MIN;
};

// The per-window file of a window message's copy: the same text as
// Histogram::text() of the histogram it was filled from.
std::string text(const HistogramData& d);

}  // namespace netloom::histo
