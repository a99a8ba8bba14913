#include "histo_engine.hpp"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace netloom::histo {

namespace {
// Squared deviations from the mean of n samples whose shifted sums are s1, s2.
double m2_of(double n, double s1, double s2) {
  const double m = s2 - s1 * s1 / n;
  return m > 0 ? m : 0.0;  // rounding may leave a tiny negative for equal samples
}
}  // namespace

Histogram::Histogram(const Def& def)
    : Histogram(def.name, def.description, def.min, def.max, def.bin, def.pseudo) {}

Histogram::Histogram(std::string name, std::string description, std::int64_t min, std::int64_t max,
                     std::int64_t bin, bool pseudo)
    : name_(std::move(name)),
      description_(std::move(description)),
      min_(min),
      max_(max),
      bin_(bin),
      slots_(0),
      pseudo_(pseudo) {
  if (bin_ <= 0 || max_ <= min_ || (max_ - min_) % bin_ != 0)
    throw std::invalid_argument("histogram " + name_ + ": (max-min) must be a positive multiple of bin");
  slots_ = static_cast<std::size_t>((max_ - min_) / bin_);
  bins_.assign(slots() + 3, 0);
  if (pseudo_) bytes_.assign(slots(), 0);
}

void Histogram::add(double v, std::uint64_t n) {
  if (!std::isfinite(v) || n == 0) return;
  const std::size_t n_in = slots();
  std::size_t i;
  if (v < static_cast<double>(min_)) {
    i = 0;
  } else if (v >= static_cast<double>(max_)) {
    i = n_in + 1;
  } else {
    // Tstat's index floor((v + bin - min) / bin), for v in range. Most
    // histograms have 1-wide bins: no division on the packet path for them.
    const double off = v - static_cast<double>(min_);
    i = static_cast<std::size_t>(bin_ == 1 ? off : off / static_cast<double>(bin_)) + 1;
    if (i > n_in) i = n_in;  // rounding just below max
    bins_[n_in + 2] += n;
  }
  bins_[i] += n;
  note(v, n);
}

Histogram::Stats Histogram::stats() const {
  Stats d;
  if (count_) {
    const auto n = static_cast<double>(count_);
    d = {count_, shift_ + s1_ / n, m2_of(n, s1_, s2_), vmin_, vmax_};
  }
  if (icount_ == 0) return d;
  Stats i{icount_, 0, 0, static_cast<double>(imin_), static_cast<double>(imax_)};
  const auto n = static_cast<long double>(icount_);
  i.mean = static_cast<double>(static_cast<long double>(isum_) / n);
  // n * m2 = n * sum(v^2) - sum(v)^2, exactly while it fits in 128 bits
  // (any realistic window: |v| < 2^17, n < 2^40); long double beyond.
  const unsigned __int128 s = static_cast<unsigned __int128>(isum_ < 0 ? -isum_ : isum_);
  unsigned __int128 nq = 0, ss = 0;
  if (!__builtin_mul_overflow(static_cast<unsigned __int128>(icount_), isq_, &nq) &&
      !__builtin_mul_overflow(s, s, &ss) && nq >= ss)
    i.m2 = static_cast<double>(static_cast<long double>(nq - ss) / n);
  else
    i.m2 = static_cast<double>(
        std::max<long double>(0, static_cast<long double>(isq_) -
                                     static_cast<long double>(isum_) * static_cast<long double>(isum_) / n));
  return combine(d, i);
}

// Chan et al.'s parallel combination of two groups' (count, mean, m2, extremes).
Histogram::Stats Histogram::combine(const Stats& a, const Stats& b) {
  if (a.count == 0) return b;
  if (b.count == 0) return a;
  const double na = static_cast<double>(a.count), nb = static_cast<double>(b.count);
  const double delta = b.mean - a.mean;
  return {a.count + b.count, a.mean + delta * nb / (na + nb),
          a.m2 + b.m2 + delta * delta * na * nb / (na + nb), std::min(a.vmin, b.vmin),
          std::max(a.vmax, b.vmax)};
}

void Histogram::clear_stats() {
  count_ = 0;
  shift_ = s1_ = s2_ = vmin_ = vmax_ = 0;
  icount_ = 0;
  isum_ = 0;
  isq_ = 0;
  imin_ = INT64_MAX;
  imax_ = INT64_MIN;
}

void Histogram::finish_rates(double elapsed_ms) {
  for (std::size_t c = 0; c < bytes_.size(); ++c)
    bins_[c + 1] =
        elapsed_ms > 0 ? static_cast<std::uint64_t>(static_cast<double>(bytes_[c]) * 8000.0 / elapsed_ms) : 0;
}

void Histogram::reset() {
  std::fill(bins_.begin(), bins_.end(), 0);
  std::fill(bytes_.begin(), bytes_.end(), 0);
  clear_stats();
}

void Histogram::merge(const Histogram& o) {
  if (o.bins_.size() != bins_.size())
    throw std::invalid_argument("histogram " + name_ + ": merge of another shape");
  for (std::size_t i = 0; i < bins_.size(); ++i) bins_[i] += o.bins_[i];
  const Stats b = o.stats();
  if (b.count == 0) return;
  // The result is kept shifted by its own mean (s1 = 0, s2 = m2).
  const Stats m = combine(stats(), b);
  clear_stats();
  count_ = m.count;
  shift_ = m.mean;
  s2_ = m.m2;
  vmin_ = m.vmin;
  vmax_ = m.vmax;
}

std::uint64_t Histogram::total() const {
  std::uint64_t t = 0;
  for (std::size_t i = 0; i <= slots() + 1; ++i) t += bins_[i];
  return t;
}

namespace {
void header(std::string& s, std::string_view description, std::int64_t min, std::int64_t bin,
            std::int64_t max) {
  char b[160];
  s += '#';
  s += description;
  s += '\n';
  std::snprintf(b, sizeof b, "#RANGE: min=%" PRId64 " bin_size=%" PRId64 " max=%" PRId64 "\n", min, bin, max);
  s += b;
}
void header(std::string& s, const Histogram& h) { header(s, h.description(), h.min(), h.bin(), h.max()); }

std::string window_text(std::string_view description, std::int64_t min, std::int64_t max, std::int64_t bin,
                        const std::vector<std::uint64_t>& bins) {
  std::string s;
  header(s, description, min, bin, max);
  char b[64];
  const auto slots = static_cast<std::size_t>((max - min) / bin);
  const std::size_t n = std::min(slots + 2, bins.size());
  for (std::size_t i = 0; i < n; ++i) {
    // Port histograms are 65 538 mostly empty slots: skip zeros 8 at a time.
    while (i + 8 <= n && (bins[i] | bins[i + 1] | bins[i + 2] | bins[i + 3] | bins[i + 4] | bins[i + 5] |
                          bins[i + 6] | bins[i + 7]) == 0)
      i += 8;
    if (i >= n || bins[i] == 0) continue;
    // "<edge> <count>\n" without printf's format parsing.
    char* p = std::to_chars(b, b + 24, min + (static_cast<std::int64_t>(i) - 1) * bin).ptr;
    *p++ = ' ';
    p = std::to_chars(p, p + 24, bins[i]).ptr;
    s.append(b, p);
    s += '\n';
  }
  return s;
}
}  // namespace

std::string Histogram::text() const { return window_text(description_, min_, max_, bin_, bins_); }

std::string text(const HistogramData& d) { return window_text(d.description, d.min, d.max, d.bin, d.bins); }

std::string Histogram::global_text() const {
  std::string s;
  header(s, *this);
  const std::size_t n = slots();
  const std::uint64_t tot = total();
  char b[160];
  std::snprintf(b, sizeof b,
                "#SAMPLES: <min=%" PRIu64 " valid=%" PRIu64 " >max=%" PRIu64 " tot=%" PRIu64 "\n", bins_[0],
                bins_[n + 2], bins_[n + 1], tot);
  s += b;
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i <= n + 1; ++i) {
    if (bins_[i] == 0) continue;
    cum += bins_[i];
    std::snprintf(b, sizeof b, "%" PRId64 " %f %f\n", edge(i),
                  static_cast<double>(bins_[i]) / static_cast<double>(tot),
                  static_cast<double>(cum) / static_cast<double>(tot));
    s += b;
  }
  return s;
}

HistogramData Histogram::data() const {
  HistogramData d;
  fill(d);
  return d;
}

void Histogram::fill_except_bins(HistogramData& d) const {
  d.name = name_;
  d.description = description_;
  d.min = min_;
  d.max = max_;
  d.bin = bin_;
  d.pseudo = pseudo_;
  const Stats st = stats();
  d.count = st.count;
  d.mean = st.mean;
  d.m2 = st.m2;
  d.vmin = st.vmin;
  d.vmax = st.vmax;
}

void Histogram::fill(HistogramData& d) const {
  fill_except_bins(d);
  d.bins.assign(bins_.begin(), bins_.end());
}

void Histogram::move_into(HistogramData& d, bool d_bins_zero) {
  fill_except_bins(d);
  d.bins.swap(bins_);
  if (bins_.size() != d.bins.size())
    bins_.assign(d.bins.size(), 0);
  else if (!d_bins_zero)
    std::fill(bins_.begin(), bins_.end(), 0);
  std::fill(bytes_.begin(), bytes_.end(), 0);
  clear_stats();
}

}  // namespace netloom::histo
