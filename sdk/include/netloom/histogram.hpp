// Histogram windows as a stream: what a histogram block hands to the blocks
// that turn histograms into something else (RRD archives, exporters) at the
// end of every measurement window.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netloom/message.hpp"

namespace netloom {

// One histogram over one window, in Tstat's model (spec §8).
struct HistogramData {
  std::string name, description;
  std::int64_t min = 0, max = 0, bin = 1;  // [min, max) in steps of bin
  // Tstat's storage: (max-min)/bin + 3 slots: [0] below min, [1..n] in
  // range, [n+1] at or above max, [n+2] number of in-range samples.
  // For pseudo-histograms (bitrates) slot i+1 holds category i's value.
  std::vector<std::uint64_t> bins;
  bool pseudo = false;  // a bitrate pseudo-histogram: the statistics below are not meaningful
  // Running statistics of every value added in the window (m2: the sum of
  // squared deviations from the mean).
  std::uint64_t count = 0;
  double mean = 0, m2 = 0, vmin = 0, vmax = 0;
};

class HistogramWindow final : public Message {
 public:
  static constexpr std::string_view kType = "HistogramWindow";
  std::uint64_t start_ns = 0, end_ns = 0;  // packet time covered: [start, end)
  std::uint32_t step = 0;                  // window number (Tstat's 000, 001, ...)
  bool last = false;                       // the partial window written at the end of input (LAST)
  std::vector<HistogramData> histograms;

  std::string_view type_name() const noexcept override { return kType; }
  std::size_t items() const noexcept override { return histograms.size(); }
  MessagePtr clone() const override { return std::make_shared<HistogramWindow>(*this); }
};

}  // namespace netloom
