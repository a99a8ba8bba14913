// netloom's naive Bayes engine (see bayes_engine.hpp and docs/bayes.md).
#include "bayes_engine.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <numbers>
#include <set>
#include <sstream>

namespace netloom::bayes {

namespace {

struct Feat {
  const char* name;
  Feature f;
};
constexpr Feat kFeatures[] = {{"PKTSIZE", Feature::pktsize}, {"MAXDELPKTSIZE", Feature::maxdelpktsize},
                              {"AVGIPG", Feature::avgipg},   {"PKTRATE", Feature::pktrate},
                              {"BITRATE", Feature::bitrate}, {"AVGPKT", Feature::avgpkt}};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Tokens of a line: whitespace separated; '(' ',' ')' also separate (so a
// mixture may be written "(w,m,s)" or "w m s").
std::vector<std::string> tokens(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')' || c == ',') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// Limits of a configuration's size (Parser::check_size).
constexpr std::uint64_t kMaxTableEntries = 10'000'000;  // 80 MB of log10 pdf values
constexpr std::uint64_t kMaxDensities = 100'000'000;    // Gaussian densities computed at load

class Parser {
 public:
  Parser(const std::string& file, const std::string& dir) : dir_(dir) { cfg_.file = file; }

  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(cfg_.file + ":" + std::to_string(line_) + ": " + what);
  }
  [[noreturn]] void fail_file(const std::string& what) const { throw ConfigError(cfg_.file + ": " + what); }

  double real(const std::string& kw, const std::string& t) const {
    const char* s = t.c_str();
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !std::isfinite(v))
      fail(kw + ": '" + t + "' is not a number");
    return v;
  }
  long integer(const std::string& kw, const std::string& t) const {
    const char* s = t.c_str();
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) fail(kw + ": '" + t + "' is not an integer");
    return v;
  }
  void arity(const std::vector<std::string>& t, std::size_t n) const {
    if (t.size() < n + 1) fail(t[0] + " needs " + std::to_string(n) + (n == 1 ? " value" : " values"));
    if (t.size() > n + 1) fail("unexpected '" + t[n + 1] + "' after " + t[0]);
  }
  bool flag(const std::vector<std::string>& t) const {
    arity(t, 1);
    const long v = integer(t[0], t[1]);
    if (v != 0 && v != 1) fail(t[0] + " must be 0 or 1, not '" + t[1] + "'");
    return v == 1;
  }

  void prior(ClassSpec& c, const std::string& kw, const std::string& t) const {
    if (t == "=") {
      c.equal_prior = true;
      return;
    }
    c.prior = real(kw, t);
    if (!(c.prior > 0 && c.prior <= 1))
      fail(kw + " '" + c.name + "': prior '" + t + "' must be in (0, 1] or '='");
  }
  void add_class(ClassSpec c) {
    if (!names_.insert(c.name).second) fail("class '" + c.name + "' defined twice");
    class_lines_.push_back(line_);
    cfg_.classes.push_back(std::move(c));
  }

  void line(const std::string& raw) {
    ++line_;
    std::string text = raw.substr(0, raw.find('#'));
    auto t = tokens(text);
    if (t.empty()) return;
    const std::string kw = upper(t[0]);
    t[0] = kw;
    if (kw == "FEATURE") {
      arity(t, 1);
      const std::string f = upper(t[1]);
      for (const auto& k : kFeatures)
        if (f == k.name) {
          cfg_.feature = k.f;
          cfg_.has_feature = true;
          return;
        }
      fail("unknown feature '" + t[1] + "' (PKTSIZE, MAXDELPKTSIZE, AVGIPG, PKTRATE, BITRATE or AVGPKT)");
    } else if (kw == "WINDOW_SIZE") {
      arity(t, 1);
      const long v = integer(kw, t[1]);
      if (v != -1 && v < 1) fail("WINDOW_SIZE must be -1 (no windows) or at least 1, not '" + t[1] + "'");
      if (v > 1000000) fail("WINDOW_SIZE '" + t[1] + "' is too large");
      cfg_.window_size = static_cast<int>(v);
    } else if (kw == "CLASS_LEN") {
      arity(t, 1);
      const long v = integer(kw, t[1]);
      if (v < 1 || v > 10000000) fail("CLASS_LEN must be in 1..10000000, not '" + t[1] + "'");
      cfg_.class_len = static_cast<int>(v);
    } else if (kw == "USE_LOG") {
      cfg_.use_log = flag(t);
    } else if (kw == "NORMALIZE") {
      cfg_.normalize = flag(t);
    } else if (kw == "AUTO_OTHER") {
      cfg_.auto_other = flag(t);
      auto_other_line_ = line_;
    } else if (kw == "MIN_THRESHOLD") {
      arity(t, 1);
      cfg_.min_threshold = real(kw, t[1]);
      if (!(cfg_.min_threshold > 0 && cfg_.min_threshold < 1))
        fail("MIN_THRESHOLD must be in (0, 1), not '" + t[1] + "'");
    } else if (kw == "AVG_THRESHOLD") {
      arity(t, 1);
      cfg_.avg_threshold = real(kw, t[1]);
    } else if (kw == "WIN_THRESHOLD") {
      arity(t, 1);
      cfg_.win_threshold = real(kw, t[1]);
    } else if (kw == "PRC_THRESHOLD") {
      arity(t, 1);
      cfg_.prc_threshold = real(kw, t[1]);
    } else if (kw == "GAUSSIAN") {
      arity(t, 4);
      ClassSpec c;
      c.name = t[1];
      c.kind = ClassKind::gaussian;
      prior(c, kw, t[2]);
      GaussComponent g{1, real(kw, t[3]), real(kw, t[4])};
      if (!(g.sigma > 0)) fail("GAUSSIAN '" + c.name + "': sigma must be > 0, not '" + t[4] + "'");
      c.components.push_back(g);
      add_class(std::move(c));
    } else if (kw == "GAUSSIAN+") {
      if (t.size() < 4)
        fail("GAUSSIAN+ needs a name, a prior, a component count and (weight, mean, sigma) triples");
      ClassSpec c;
      c.name = t[1];
      c.kind = ClassKind::gaussian_mixture;
      prior(c, kw, t[2]);
      const long n = integer(kw, t[3]);
      if (n < 1 || n > 1000)
        fail("GAUSSIAN+ '" + c.name + "': component count must be in 1..1000, not '" + t[3] + "'");
      const std::size_t have = t.size() - 4;
      if (have != static_cast<std::size_t>(n) * 3)
        fail("GAUSSIAN+ '" + c.name + "': " + std::to_string(n) + " components need " +
             std::to_string(n * 3) + " numbers (weight mean sigma each), found " + std::to_string(have));
      for (long i = 0; i < n; ++i) {
        GaussComponent g{real(kw, t[4 + 3 * i]), real(kw, t[5 + 3 * i]), real(kw, t[6 + 3 * i])};
        if (!(g.weight > 0))
          fail("GAUSSIAN+ '" + c.name + "': weight must be > 0, not '" + t[4 + 3 * i] + "'");
        if (!(g.sigma > 0)) fail("GAUSSIAN+ '" + c.name + "': sigma must be > 0, not '" + t[6 + 3 * i] + "'");
        c.components.push_back(g);
      }
      add_class(std::move(c));
    } else if (kw == "DISCRETE") {
      arity(t, 2);
      ClassSpec c;
      c.name = t[1];
      c.kind = ClassKind::discrete;
      prior(c, kw, t[2]);
      add_class(std::move(c));
    } else {
      fail("unknown keyword '" + t[0] + "'");
    }
  }

  // Reads `<dir>/<name>.DAT` into raw (unnormalised) probabilities.
  std::vector<double> read_dat(const std::string& name, std::size_t decl_line) {
    const std::string path = (dir_.empty() ? std::string(".") : dir_) + "/" + name + ".DAT";
    std::ifstream in(path);
    if (!in) {
      line_ = decl_line;
      fail("DISCRETE '" + name + "': missing file " + path);
    }
    std::vector<double> v;
    std::string l;
    std::size_t n = 0;
    while (std::getline(in, l)) {
      ++n;
      auto t = tokens(l.substr(0, l.find('#')));
      if (t.empty()) continue;
      const char* s = t[0].c_str();
      char* end = nullptr;
      const double x = std::strtod(s, &end);
      if (end == s || *end != '\0' || !std::isfinite(x) || x < 0 || t.size() > 1)
        throw ConfigError(path + ":" + std::to_string(n) + ": '" + l + "' is not one non-negative number");
      v.push_back(x);
    }
    if (v.size() > static_cast<std::size_t>(cfg_.class_len))
      throw ConfigError(path + ": " + std::to_string(v.size()) + " values, more than CLASS_LEN " +
                        std::to_string(cfg_.class_len) + " (declared in " + cfg_.file + ")");
    v.resize(cfg_.class_len, 0.0);
    double sum = 0;
    for (double x : v) sum += x;
    if (!(sum > 0)) throw ConfigError(path + ": all values are zero");
    return v;
  }

  // Normalise, floor, renormalise, log10.
  std::vector<double> discrete_log(std::vector<double> p) const {
    double s = 0;
    for (double x : p) s += x;
    for (auto& x : p) x = std::max(x / s, cfg_.min_threshold);
    s = 0;
    for (double x : p) s += x;
    for (auto& x : p) x = std::log10(x / s);
    return p;
  }

  // Bounds on the tables (one double per class and sample value) and on the
  // work of filling them: a mistaken or hostile file gets an error instead of
  // taking gigabytes or hours (found by fuzzing: 40 classes of CLASS_LEN
  // 10000000 asked for 3.2 GB; a 1000-component mixture for 10^10 densities).
  void check_size() const {
    const std::uint64_t len = static_cast<std::uint64_t>(cfg_.class_len);
    const std::uint64_t classes = cfg_.classes.size() + (cfg_.auto_other ? 1 : 0);
    std::uint64_t components = 0;
    for (const ClassSpec& c : cfg_.classes) components += c.components.size();
    if (len * classes > kMaxTableEntries)
      fail_file("CLASS_LEN " + std::to_string(len) + " for " + std::to_string(classes) + " classes is " +
                std::to_string(len * classes) + " table entries (at most " +
                std::to_string(kMaxTableEntries) + ")");
    if (len * components > kMaxDensities)
      fail_file("CLASS_LEN " + std::to_string(len) + " for " + std::to_string(components) +
                " Gaussian components is " + std::to_string(len * components) +
                " densities to compute (at most " + std::to_string(kMaxDensities) + ")");
  }

  Config finish() {
    if (!cfg_.has_feature) fail_file("no FEATURE line");
    if (cfg_.class_len <= 0) fail_file("no CLASS_LEN line");
    if (cfg_.classes.empty()) fail_file("no class (DISCRETE, GAUSSIAN or GAUSSIAN+ line)");
    check_size();
    if (cfg_.win_threshold > 0) {  // §7.1: a positive WIN_THRESHOLD replaces both thresholds
      const double th = std::log10(static_cast<double>(cfg_.class_len)) / cfg_.window_size + 3;
      cfg_.avg_threshold = cfg_.win_threshold = th;
    }
    std::vector<std::vector<double>> raw_discrete;
    for (std::size_t i = 0; i < cfg_.classes.size(); ++i) {
      ClassSpec& c = cfg_.classes[i];
      c.log_pdf.resize(cfg_.class_len);
      if (c.kind == ClassKind::discrete) {
        auto raw = read_dat(c.name, class_lines_[i]);
        c.log_pdf = discrete_log(raw);
        raw_discrete.push_back(std::move(raw));
      } else {
        for (int x = 0; x < cfg_.class_len; ++x) {
          double p = 0;
          for (const auto& g : c.components) p += g.weight * gaussian_pdf(x, g.mean, g.sigma);
          c.log_pdf[x] = std::log10(std::max(p, cfg_.min_threshold));
        }
      }
    }
    if (cfg_.auto_other) {
      if (raw_discrete.empty()) {
        line_ = auto_other_line_;
        fail("AUTO_OTHER needs at least one DISCRETE class");
      }
      // netloom's complement: 1 - (mean normalised discrete pdf / its peak).
      std::vector<double> mean(cfg_.class_len, 0.0);
      for (auto& r : raw_discrete) {
        double s = 0;
        for (double x : r) s += x;
        for (int x = 0; x < cfg_.class_len; ++x) mean[x] += r[x] / s / raw_discrete.size();
      }
      const double peak = *std::max_element(mean.begin(), mean.end());
      std::vector<double> other(cfg_.class_len);
      for (int x = 0; x < cfg_.class_len; ++x) other[x] = 1.0 - mean[x] / peak;
      double s = 0;
      for (double x : other) s += x;
      if (!(s > 0)) other.assign(cfg_.class_len, 1.0);
      ClassSpec c;
      c.name = "AUTO_OTHER";
      c.kind = ClassKind::auto_other;
      c.equal_prior = true;
      c.log_pdf = discrete_log(other);
      cfg_.classes.push_back(std::move(c));
    }
    const double eq = 1.0 / static_cast<double>(cfg_.classes.size());
    for (auto& c : cfg_.classes) {
      if (c.equal_prior) c.prior = eq;
      c.log_prior = std::log10(c.prior);
    }
    return std::move(cfg_);
  }

 private:
  Config cfg_;
  std::string dir_;
  std::size_t line_ = 0, auto_other_line_ = 0;
  std::set<std::string> names_;
  std::vector<std::size_t> class_lines_;
};

}  // namespace

const char* feature_name(Feature f) {
  for (const auto& k : kFeatures)
    if (k.f == f) return k.name;
  return "?";
}

double gaussian_pdf(double x, double mean, double sigma) {
  const double z = (x - mean) / sigma;
  return std::exp(-0.5 * z * z) / (sigma * std::sqrt(2 * std::numbers::pi));
}

Config parse_config(const std::string& text, const std::string& file, const std::string& dir) {
  Parser p(file, dir);
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) p.line(l);
  Config c = p.finish();
  if (c.window_size == 1 && !c.classes.empty()) {
    // What Session::close_window() computes for a window of one sample:
    // the same arithmetic, so the verdicts are bit for bit the same.
    std::vector<Config::SampleVerdict> table(static_cast<std::size_t>(c.class_len));
    for (std::size_t s = 0; s < table.size(); ++s) {
      Session one(c);  // c.single is still empty: the general path
      one.add(static_cast<long>(s));
      table[s] = one.last_verdict();
    }
    c.single = std::move(table);
  }
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": missing file (cannot open it)");
  std::ostringstream s;
  s << in.rdbuf();
  const auto slash = path.find_last_of('/');
  return parse_config(s.str(), path, slash == std::string::npos ? "." : path.substr(0, slash));
}

// ---------------------------------------------------------------- Session

Session::Session(const Config& cfg) : cfg_(&cfg), argmax_(cfg.classes.size(), 0) {
  // A table session (WINDOW_SIZE 1) never holds an open window: no beliefs.
  if (cfg.single.empty()) reset();
}

void Session::reset() {
  belief_.resize(cfg_->classes.size());
  for (std::size_t i = 0; i < belief_.size(); ++i) belief_[i] = cfg_->classes[i].log_prior;
  in_window_ = 0;
  out_of_range_ = false;
}

void Session::add(long sample) {
  if (!cfg_->single.empty()) {  // WINDOW_SIZE 1: a looked-up verdict per sample
    ++samples_total_;
    if (sample < 0 || sample >= cfg_->class_len) {
      ++invalid_windows_;
      return;
    }
    const Config::SampleVerdict& v = cfg_->single[static_cast<std::size_t>(sample)];
    account({v.valid, v.arg, v.max});
    return;
  }
  ++samples_total_;
  ++in_window_;
  if (sample < 0 || sample >= cfg_->class_len) {
    out_of_range_ = true;  // the window becomes invalid
  } else {
    for (std::size_t i = 0; i < belief_.size(); ++i) belief_[i] += cfg_->classes[i].log_pdf[sample];
  }
  if (cfg_->window_size > 0 && in_window_ >= cfg_->window_size) close_window();
}

Session::Eval Session::evaluate() const {
  Eval e{false, -1, -std::numeric_limits<double>::infinity()};
  if (in_window_ == 0 || out_of_range_) return e;
  // Ties go to the first class declared: a sample exactly between two
  // modes must not escape scoring by making its window invalid.
  for (std::size_t i = 0; i < belief_.size(); ++i) {
    const double b = cfg_->normalize ? belief_[i] / in_window_ : belief_[i];
    if (b > e.max) {
      e.max = b;
      e.arg = static_cast<int>(i);
    }
  }
  if (e.arg < 0 || !std::isfinite(e.max)) return e;   // argmax undefined
  if (!cfg_->use_log) e.max = std::pow(10.0, e.max);  // a probability instead of its log10
  e.valid = true;
  return e;
}

void Session::close_window() {
  const Eval e = evaluate();
  last_ = {e.valid, e.arg, e.max};
  account(e);
  reset();
}

void Session::account(const Eval& e) {
  if (e.valid) {
    ++valid_windows_;
    sum_max_ += e.max;
    ++argmax_[e.arg];
    if (e.max >= cfg_->win_threshold) ++above_win_;
  } else {
    ++invalid_windows_;
  }
}

double Session::mean_max_belief() const {
  if (valid_windows_ > 0) return sum_max_ / static_cast<double>(valid_windows_);
  if (in_window_ > 0) {
    const Eval e = evaluate();
    if (e.valid) return e.max;
  }
  return -100.0;
}

// --------------------------------------------------------------- chi-square

bool NibbleChi2::add(const std::uint8_t* p, std::size_t len) {
  if (len < 8 || n_ >= kMaxSamples) return false;
  for (unsigned k = 0; k < 8; ++k) {
    ++count_[2 * k][p[k] & 0x0F];
    ++count_[2 * k + 1][p[k] >> 4];
  }
  ++n_;
  return true;
}

double NibbleChi2::chi2(unsigned j) const {
  if (n_ == 0 || j >= 16) return 0;
  const double e = static_cast<double>(n_) / 16.0;
  double s = 0;
  for (unsigned v = 0; v < 16; ++v) {
    const double d = count_[j][v] - e;
    s += d * d / e;
  }
  return s;
}

std::array<double, 16> NibbleChi2::all() const {
  std::array<double, 16> a{};
  for (unsigned j = 0; j < 16; ++j) a[j] = chi2(j);
  return a;
}

namespace {
double max_of(const std::array<double, 16>& c, unsigned from, unsigned to) {
  double m = -1;
  for (unsigned j = from; j <= to; ++j) m = std::max(m, c[j]);
  return m;
}
double min_of(const std::array<double, 16>& c, unsigned from, unsigned to) {
  double m = std::numeric_limits<double>::infinity();
  for (unsigned j = from; j <= to; ++j) m = std::min(m, c[j]);
  return m;
}
}  // namespace

ChiClass chi_udp(const std::array<double, 16>& c, double th, double func_high_th) {
  const bool payload_random = max_of(c, 8, 15) < th;
  if (!payload_random) return ChiClass::not_skype;
  if (min_of(c, 0, 7) >= th) return ChiClass::e2o;
  const double hdr_random = std::max({c[0], c[1], c[2], c[3], c[6], c[7]});
  if (hdr_random < th && c[4] >= th && c[5] >= func_high_th) return ChiClass::e2e;
  return ChiClass::not_skype;
}

ChiClass chi_tcp(const std::array<double, 16>& c, std::uint64_t samples, double th,
                 std::uint64_t min_samples) {
  if (samples < min_samples) return ChiClass::not_skype;
  return max_of(c, 0, 7) < th && max_of(c, 8, 15) < th ? ChiClass::tcp : ChiClass::not_skype;
}

}  // namespace netloom::bayes
