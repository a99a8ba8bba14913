// netloom_bayes: a generic naive Bayes engine reading Tstat's bayes
// configuration format (spec §7.1/§7.2), plus the chi-square randomness
// statistic of the first payload nibbles (§7.4). Pure computation, no SDK
// dependency beyond ConfigError: usable by any block.
#pragma once
#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "netloom/error.hpp"

namespace netloom::bayes {

enum class Feature { pktsize, maxdelpktsize, avgipg, pktrate, bitrate, avgpkt };
const char* feature_name(Feature f);

enum class ClassKind { discrete, gaussian, gaussian_mixture, auto_other };

struct GaussComponent {
  double weight = 1, mean = 0, sigma = 1;
};

struct ClassSpec {
  std::string name;
  ClassKind kind = ClassKind::gaussian;
  double prior = 0;                        // resolved (a '=' prior becomes 1/number_of_classes)
  double log_prior = 0;                    // log10(prior): a window's starting belief
  bool equal_prior = false;                // written as '='
  std::vector<GaussComponent> components;  // gaussian: one; mixture: N
  std::vector<double> log_pdf;             // log10 pdf for samples 0..class_len-1 (floored at min_threshold)
};

struct Config {
  std::string file;  // where it came from (for messages)
  Feature feature = Feature::pktsize;
  bool has_feature = false;
  int window_size = -1;  // -1: no windowing (one window for the whole direction)
  int class_len = 0;
  bool use_log = true;
  bool normalize = true;
  bool auto_other = false;
  double min_threshold = 1e-33;
  double avg_threshold = 0;
  double win_threshold = 0;
  double prc_threshold = 0.95;  // parsed, unused (as in Tstat)
  std::vector<ClassSpec> classes;
  // WINDOW_SIZE 1 (Tstat's Skype files): every sample is a window of its
  // own whose verdict depends on the sample alone, so parse_config()
  // evaluates it once per sample value here and Session::add() looks it up.
  struct SampleVerdict {
    bool valid = false;
    int arg = -1;
    double max = 0;
  };
  std::vector<SampleVerdict> single;  // class_len entries, or none
};

// Parses `text` (the contents of `file`; DISCRETE classes read
// `<dir>/<name>.DAT`). Errors: ConfigError "FILE:LINE: what is wrong".
Config parse_config(const std::string& text, const std::string& file, const std::string& dir);
// Reads and parses a file; a missing file is "FILE: cannot open ...".
Config load_config(const std::string& path);

// Gaussian density at x (not floored, not logged).
double gaussian_pdf(double x, double mean, double sigma);

// One classification session: the state of one feature of one flow
// direction. Beliefs are sums of log10 probabilities (never products), so
// thousands of tiny probabilities stay finite.
class Session {
 public:
  explicit Session(const Config& cfg);
  // Adds one sample; closes a window every WINDOW_SIZE samples.
  void add(long sample);
  // Running mean of the max (normalised) belief over valid windows; with
  // no window closed yet but samples pending (WINDOW_SIZE -1, or a short
  // direction), the pending window is evaluated without closing it; -100
  // when no sample was ever taken.
  double mean_max_belief() const;
  bool passes() const { return mean_max_belief() >= cfg_->avg_threshold; }
  std::uint64_t samples() const { return samples_total_; }
  std::uint64_t valid_windows() const { return valid_windows_; }
  std::uint64_t invalid_windows() const { return invalid_windows_; }
  // Windows whose max belief reached WIN_THRESHOLD (informational).
  std::uint64_t windows_above_win_threshold() const { return above_win_; }
  // How often each class was the window argmax.
  const boost::container::small_vector<std::uint64_t, 4>& argmax_counts() const { return argmax_; }
  // Current (un-normalised, log10) beliefs of the open window (none for a
  // WINDOW_SIZE 1 configuration, whose windows close with their sample).
  const boost::container::small_vector<double, 4>& beliefs() const { return belief_; }
  // The verdict of the last window closed (parse_config's per-sample table).
  Config::SampleVerdict last_verdict() const { return last_; }

 private:
  struct Eval {
    bool valid;
    int arg;
    double max;
  };
  Eval evaluate() const;
  void close_window();
  void account(const Eval& e);  // a closed window's verdict into the running figures
  void reset();
  const Config* cfg_;
  // Inline up to 4 classes (Tstat's Skype files have one or two): every
  // flow direction holds two sessions, so heap vectors cost 4 allocations
  // per flow on the packet path.
  boost::container::small_vector<double, 4> belief_;
  boost::container::small_vector<std::uint64_t, 4> argmax_;
  int in_window_ = 0;
  bool out_of_range_ = false;
  std::uint64_t samples_total_ = 0, valid_windows_ = 0, invalid_windows_ = 0, above_win_ = 0;
  double sum_max_ = 0;
  Config::SampleVerdict last_;
};

// §7.4: occurrences of the 16 nibble values at each of the 16 nibble
// positions of the first 8 payload bytes (nibble 2k = low nibble of byte k).
// 16-bit counts keep the table at 512 bytes per flow direction: the
// statistic covers the first kMaxSamples payloads of a direction (plenty for
// a verdict; later payloads are not counted).
class NibbleChi2 {
 public:
  static constexpr std::uint64_t kMaxSamples = 65535;
  // Counts a payload if it has at least 8 bytes (and the table is not
  // full); returns whether it did.
  bool add(const std::uint8_t* payload, std::size_t len);
  std::uint64_t samples() const { return n_; }
  // chi2_j = sum_v (count_jv - E)^2 / E, E = samples/16; 0 without samples.
  double chi2(unsigned nibble) const;
  std::array<double, 16> all() const;

 private:
  std::array<std::array<std::uint16_t, 16>, 16> count_{};
  std::uint64_t n_ = 0;
};

// Verdicts of the chi-square rules (values are Tstat's L7 ids, §4.4).
enum class ChiClass : int { not_skype = 0, e2e = 5, e2o = 6, tcp = 7 };
ChiClass chi_udp(const std::array<double, 16>& chi, double threshold = 150, double func_high_threshold = 100);
ChiClass chi_tcp(const std::array<double, 16>& chi, std::uint64_t samples, double threshold = 150,
                 std::uint64_t min_samples = 50);

}  // namespace netloom::bayes
