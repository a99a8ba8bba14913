// netloom_bayes: Tstat's bayes config parser, belief computation, windows,
// log-space underflow, chi-square of payload nibbles (spec §7).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "bayes_engine.hpp"
#include "bayes_skype.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::bayes;

namespace {

std::string error_of(const std::string& text, const std::string& dir = ".") {
  try {
    parse_config(text, "t.conf", dir);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kHead = "FEATURE PKTSIZE\nCLASS_LEN 100\n";

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("netloom_bayes_" + std::to_string(::getpid()) + "_" +
                                     std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(p / name) << text; }
};

}  // namespace

// ------------------------------------------------------------------ parser

TEST(BayesParser, ValidFileAllKeywords) {
  const Config c = parse_config(
      "# comment line\n"
      "FEATURE AVGIPG   # trailing comment\n"
      "WINDOW_SIZE 5\n"
      "CLASS_LEN 250\n"
      "USE_LOG 1\n"
      "NORMALIZE 0\n"
      "AUTO_OTHER 0\n"
      "MIN_THRESHOLD 1e-25\n"
      "AVG_THRESHOLD -3.5\n"
      "WIN_THRESHOLD -3\n"
      "PRC_THRESHOLD 0.9\n"
      "\n"
      "GAUSSIAN a = 10 2\n"
      "GAUSSIAN b 0.25 20 3\n"
      "GAUSSIAN+ m = 2 (0.5,30,2) (0.5, 40, 4)\n"
      "GAUSSIAN+ n = 1 1 50 5\n",
      "t.conf", ".");
  EXPECT_EQ(c.feature, Feature::avgipg);
  EXPECT_EQ(c.window_size, 5);
  EXPECT_EQ(c.class_len, 250);
  EXPECT_TRUE(c.use_log);
  EXPECT_FALSE(c.normalize);
  EXPECT_DOUBLE_EQ(c.min_threshold, 1e-25);
  EXPECT_DOUBLE_EQ(c.avg_threshold, -3.5);
  EXPECT_DOUBLE_EQ(c.win_threshold, -3);
  EXPECT_DOUBLE_EQ(c.prc_threshold, 0.9);
  ASSERT_EQ(c.classes.size(), 4u);
  EXPECT_EQ(c.classes[0].name, "a");
  EXPECT_DOUBLE_EQ(c.classes[0].prior, 0.25);  // '=' -> 1/4
  EXPECT_DOUBLE_EQ(c.classes[1].prior, 0.25);
  EXPECT_EQ(c.classes[2].kind, ClassKind::gaussian_mixture);
  ASSERT_EQ(c.classes[2].components.size(), 2u);
  EXPECT_DOUBLE_EQ(c.classes[2].components[1].sigma, 4);
  EXPECT_EQ(c.classes[3].components.size(), 1u);
  EXPECT_EQ(c.classes[0].log_pdf.size(), 250u);
}

TEST(BayesParser, Defaults) {
  const Config c = parse_config(std::string(kHead) + "GAUSSIAN a = 1 1\n", "t.conf", ".");
  EXPECT_EQ(c.window_size, -1);
  EXPECT_DOUBLE_EQ(c.min_threshold, 1e-33);
  EXPECT_TRUE(c.use_log);
  EXPECT_TRUE(c.normalize);
  EXPECT_DOUBLE_EQ(c.classes[0].prior, 1.0);
}

TEST(BayesParser, PositiveWinThresholdReplacesBoth) {
  const Config c = parse_config(
      "FEATURE PKTSIZE\nWINDOW_SIZE 2\nCLASS_LEN 1000\nWIN_THRESHOLD 1\nAVG_THRESHOLD -3\n"
      "GAUSSIAN a = 1 1\n",
      "t.conf", ".");
  EXPECT_DOUBLE_EQ(c.avg_threshold, 3.0 / 2 + 3);  // log10(1000)/2 + 3
  EXPECT_DOUBLE_EQ(c.win_threshold, 4.5);
}

TEST(BayesParser, Errors) {
  const std::string h = kHead;
  EXPECT_EQ(error_of(h + "FOO 1\n"), "t.conf:3: unknown keyword 'FOO'");
  EXPECT_EQ(error_of("FEATURE SIZE\n"),
            "t.conf:1: unknown feature 'SIZE' (PKTSIZE, MAXDELPKTSIZE, AVGIPG, PKTRATE, BITRATE or AVGPKT)");
  EXPECT_EQ(error_of("FEATURE PKTSIZE\nWINDOW_SIZE x\n"), "t.conf:2: WINDOW_SIZE: 'x' is not an integer");
  EXPECT_EQ(error_of("FEATURE PKTSIZE\nWINDOW_SIZE 0\n"),
            "t.conf:2: WINDOW_SIZE must be -1 (no windows) or at least 1, not '0'");
  EXPECT_EQ(error_of("FEATURE PKTSIZE\nCLASS_LEN 10 extra\n"),
            "t.conf:2: unexpected 'extra' after CLASS_LEN");
  EXPECT_EQ(error_of("FEATURE\n"), "t.conf:1: FEATURE needs 1 value");
  EXPECT_EQ(error_of(h + "USE_LOG 2\n"), "t.conf:3: USE_LOG must be 0 or 1, not '2'");
  EXPECT_EQ(error_of(h + "MIN_THRESHOLD abc\n"), "t.conf:3: MIN_THRESHOLD: 'abc' is not a number");
  EXPECT_EQ(error_of(h + "MIN_THRESHOLD 0\n"), "t.conf:3: MIN_THRESHOLD must be in (0, 1), not '0'");
  EXPECT_EQ(error_of(h + "GAUSSIAN a = 10\n"), "t.conf:3: GAUSSIAN needs 4 values");
  EXPECT_EQ(error_of(h + "GAUSSIAN a = 10 0\n"), "t.conf:3: GAUSSIAN 'a': sigma must be > 0, not '0'");
  EXPECT_EQ(error_of(h + "GAUSSIAN a 2 10 1\n"),
            "t.conf:3: GAUSSIAN 'a': prior '2' must be in (0, 1] or '='");
  EXPECT_EQ(error_of(h + "GAUSSIAN a = 1 1\n\nGAUSSIAN a = 2 1\n"), "t.conf:5: class 'a' defined twice");
  EXPECT_EQ(error_of(h + "GAUSSIAN+ m = 2 (0.5,30,2)\n"),
            "t.conf:3: GAUSSIAN+ 'm': 2 components need 6 numbers (weight mean sigma each), found 3");
  EXPECT_EQ(error_of(h + "GAUSSIAN+ m = 1 (0,30,2)\n"),
            "t.conf:3: GAUSSIAN+ 'm': weight must be > 0, not '0'");
  EXPECT_EQ(error_of(h + "DISCRETE d\n"), "t.conf:3: DISCRETE needs 2 values");
  EXPECT_EQ(error_of("CLASS_LEN 5\nGAUSSIAN a = 1 1\n"), "t.conf: no FEATURE line");
  EXPECT_EQ(error_of("FEATURE PKTSIZE\nGAUSSIAN a = 1 1\n"), "t.conf: no CLASS_LEN line");
  EXPECT_EQ(error_of(h), "t.conf: no class (DISCRETE, GAUSSIAN or GAUSSIAN+ line)");
  EXPECT_EQ(error_of(h + "AUTO_OTHER 1\nGAUSSIAN a = 1 1\n"),
            "t.conf:3: AUTO_OTHER needs at least one DISCRETE class");
}

// Found by fuzzing (fuzz/fuzz_bayes_config.cpp): a short file could ask for
// gigabytes of tables or hours of density computations at load.
TEST(BayesParser, SizeLimits) {
  std::string many = "FEATURE PKTSIZE\nCLASS_LEN 10000000\n";
  for (int i = 0; i < 40; ++i) many += "GAUSSIAN g" + std::to_string(i) + " = 1 1\n";
  EXPECT_EQ(error_of(many),
            "t.conf: CLASS_LEN 10000000 for 40 classes is 400000000 table entries (at most 10000000)");
  std::string mixture = "FEATURE PKTSIZE\nCLASS_LEN 1000000\nGAUSSIAN+ m = 1000";
  for (int i = 0; i < 1000; ++i) mixture += " (1," + std::to_string(i) + ",5)";
  EXPECT_EQ(error_of(mixture + "\n"),
            "t.conf: CLASS_LEN 1000000 for 1000 Gaussian components is 1000000000 densities to compute "
            "(at most 100000000)");
  // AUTO_OTHER's class counts too.
  EXPECT_EQ(error_of("FEATURE PKTSIZE\nCLASS_LEN 5000000\nAUTO_OTHER 1\nDISCRETE a =\nGAUSSIAN b = 1 1\n"),
            "t.conf: CLASS_LEN 5000000 for 3 classes is 15000000 table entries (at most 10000000)");
  // At the limits, the file loads.
  const Config c =
      parse_config("FEATURE PKTSIZE\nCLASS_LEN 5000000\nGAUSSIAN a = 1 1\nGAUSSIAN b = 2 1\n", "t.conf", ".");
  EXPECT_EQ(c.classes.size(), 2u);
  EXPECT_EQ(c.classes[1].log_pdf.size(), 5000000u);
}

TEST(BayesParser, MissingFiles) {
  TempDir d;
  EXPECT_EQ(error_of(std::string(kHead) + "# x\nDISCRETE voice =\n", d.p.string()),
            "t.conf:4: DISCRETE 'voice': missing file " + (d.p / "voice.DAT").string());
  const std::string missing = (d.p / "nothere.conf").string();
  try {
    load_config(missing);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": missing file (cannot open it)");
  }
  try {
    skype::load_configs(d.p.string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), (d.p / "pktsize.conf").string() + ": missing file (cannot open it)");
  }
  d.write("bad.DAT", "1\nx\n");
  EXPECT_EQ(error_of(std::string(kHead) + "DISCRETE bad =\n", d.p.string()),
            (d.p / "bad.DAT").string() + ":2: 'x' is not one non-negative number");
}

TEST(BayesParser, ShippedSkypeConfigsLoad) {
  const auto c = skype::load_configs(std::string(NETLOOM_SOURCE_ROOT) + "/blocks/classifiers/bayes/skype");
  EXPECT_EQ(c.pktsize.feature, Feature::pktsize);
  EXPECT_EQ(c.pktsize.class_len, 1500);
  EXPECT_EQ(c.avgipg.feature, Feature::avgipg);
  EXPECT_EQ(c.avgipg.classes.size(), 4u);
}

// ------------------------------------------------------------- evaluation

// WINDOW_SIZE 1 sessions look their verdicts up in a table parse_config()
// fills; the figures must be exactly those of the general path (the same
// configuration without the table), for in-range, out-of-range and
// negative samples, with and without logs and normalisation.
TEST(BayesEval, SingleSampleTableEqualsTheGeneralPath) {
  const std::string dir = std::string(NETLOOM_SOURCE_ROOT) + "/blocks/classifiers/bayes/skype";
  std::vector<Config> configs = {load_config(dir + "/pktsize.conf"), load_config(dir + "/avgipg.conf"),
                                 parse_config("FEATURE PKTSIZE\nCLASS_LEN 300\nWINDOW_SIZE 1\nUSE_LOG 0\n"
                                              "NORMALIZE 0\nWIN_THRESHOLD 0.001\nGAUSSIAN a 0.7 40 10\n"
                                              "GAUSSIAN b 0.3 120 30\n",
                                              "t.conf", ".")};
  std::mt19937_64 rng(7);
  for (const Config& c : configs) {
    ASSERT_EQ(c.single.size(), static_cast<std::size_t>(c.class_len)) << c.file;
    Config plain = c;
    plain.single.clear();
    Session fast(c), slow(plain);
    std::uniform_int_distribution<long> sample(-5, c.class_len + 5);
    for (int i = 0; i < 5000; ++i) {
      const long v = sample(rng);
      fast.add(v);
      slow.add(v);
    }
    EXPECT_EQ(fast.samples(), slow.samples()) << c.file;
    EXPECT_EQ(fast.valid_windows(), slow.valid_windows()) << c.file;
    EXPECT_EQ(fast.invalid_windows(), slow.invalid_windows()) << c.file;
    EXPECT_GT(fast.invalid_windows(), 0u) << c.file;  // the out-of-range samples
    EXPECT_EQ(fast.windows_above_win_threshold(), slow.windows_above_win_threshold()) << c.file;
    EXPECT_EQ(fast.mean_max_belief(), slow.mean_max_belief()) << c.file;
    ASSERT_EQ(fast.argmax_counts().size(), slow.argmax_counts().size());
    for (std::size_t k = 0; k < fast.argmax_counts().size(); ++k)
      EXPECT_EQ(fast.argmax_counts()[k], slow.argmax_counts()[k]) << c.file << " class " << k;
  }
}

TEST(BayesEval, GaussianMatchesHandComputed) {
  // N(x; 10, 10): peak 1/(10*sqrt(2*pi)) = 0.0398942; at 0: peak*e^-0.5 = 0.0241971
  EXPECT_NEAR(gaussian_pdf(10, 10, 10), 0.0398942, 1e-7);
  EXPECT_NEAR(gaussian_pdf(0, 10, 10), 0.0241971, 1e-7);
  const Config c =
      parse_config(std::string(kHead) + "MIN_THRESHOLD 1e-25\nGAUSSIAN a = 10 10\n", "t.conf", ".");
  EXPECT_NEAR(c.classes[0].log_pdf[10], std::log10(0.0398942), 1e-6);  // -1.39909
  EXPECT_NEAR(c.classes[0].log_pdf[10], -1.39909, 1e-5);
  EXPECT_NEAR(c.classes[0].log_pdf[0], -1.61624, 1e-5);
  // far tail floored at MIN_THRESHOLD
  const Config f =
      parse_config(std::string(kHead) + "MIN_THRESHOLD 1e-25\nGAUSSIAN a = 0 1\n", "t.conf", ".");
  EXPECT_DOUBLE_EQ(f.classes[0].log_pdf[99], -25.0);
}

TEST(BayesEval, MixtureMatchesHandComputed) {
  // 0.5 N(0;0,1) + 0.5 N(0;4,2) = 0.5*(0.398942 + 0.199471*e^-2) = 0.5*(0.398942+0.0269955) = 0.212969
  const Config c = parse_config(std::string(kHead) + "GAUSSIAN+ m = 2 (0.5,0,1) (0.5,4,2)\n", "t.conf", ".");
  EXPECT_NEAR(std::pow(10.0, c.classes[0].log_pdf[0]), 0.212969, 1e-6);
  // at 4: 0.5*(N(4;0,1)=1.33830e-4) + 0.5*(0.199471) = 0.0998026
  EXPECT_NEAR(std::pow(10.0, c.classes[0].log_pdf[4]), 0.0998026, 1e-6);
}

TEST(BayesEval, DiscreteNormalisedFlooredRenormalised) {
  TempDir d;
  d.write("v.DAT", "1\n3\n0\n4\n");
  const Config c = parse_config("FEATURE PKTSIZE\nCLASS_LEN 4\nMIN_THRESHOLD 0.001\nDISCRETE v 0.5\n",
                                "t.conf", d.p.string());
  // 1/8, 3/8, 0 -> 0.001, 4/8; sum 1.001
  EXPECT_NEAR(c.classes[0].log_pdf[0], std::log10(0.125 / 1.001), 1e-12);
  EXPECT_NEAR(c.classes[0].log_pdf[2], std::log10(0.001 / 1.001), 1e-12);
  EXPECT_NEAR(c.classes[0].log_pdf[3], std::log10(0.5 / 1.001), 1e-12);
  EXPECT_DOUBLE_EQ(c.classes[0].prior, 0.5);
}

TEST(BayesEval, WindowsBeliefsAndArgmax) {
  const Config c = parse_config(
      "FEATURE PKTSIZE\nCLASS_LEN 100\nWINDOW_SIZE 2\nAVG_THRESHOLD -0.87\nWIN_THRESHOLD -0.86\n"
      "GAUSSIAN a = 10 2\nGAUSSIAN b = 50 2\n",
      "t.conf", ".");
  Session s(c);
  EXPECT_DOUBLE_EQ(s.mean_max_belief(), -100.0);  // nothing sampled
  s.add(10);
  s.add(10);
  // (log10 0.5 + 2 log10 N(10;10,2)) / 2 = (-0.30103 - 1.40024)/2 = -0.850635
  EXPECT_NEAR(s.mean_max_belief(), -0.850635, 1e-5);
  EXPECT_EQ(s.valid_windows(), 1u);
  s.add(50);
  s.add(51);
  // (log10 0.5 + log10 N(50;50,2) + log10 N(51;50,2)) / 2 = (-0.30103-0.70012-0.75440)/2 = -0.877775
  EXPECT_NEAR(s.mean_max_belief(), (-0.850635 - 0.877775) / 2, 1e-5);
  EXPECT_EQ(s.argmax_counts()[0], 1u);
  EXPECT_EQ(s.argmax_counts()[1], 1u);
  EXPECT_EQ(s.windows_above_win_threshold(), 1u);  // -0.8506 >= -0.86, -0.8778 not
  EXPECT_TRUE(s.passes());                         // mean -0.864205 >= AVG_THRESHOLD -0.87
  // a sample beyond CLASS_LEN invalidates its window; the mean is unchanged
  const double before = s.mean_max_belief();
  s.add(2000);
  s.add(10);
  EXPECT_EQ(s.invalid_windows(), 1u);
  EXPECT_EQ(s.valid_windows(), 2u);
  EXPECT_DOUBLE_EQ(s.mean_max_belief(), before);
  // equal beliefs (30 is midway between the modes): the first class wins,
  // the window stays valid and scores its (low) belief
  s.add(30);
  s.add(30);
  EXPECT_EQ(s.invalid_windows(), 1u);
  EXPECT_EQ(s.valid_windows(), 3u);
  EXPECT_EQ(s.argmax_counts()[0], 2u);
  const double mid = (std::log10(0.5) + 2 * std::log10(gaussian_pdf(30, 10, 2))) / 2;  // about -22.6
  EXPECT_NEAR(s.mean_max_belief(), (-0.850635 - 0.877775 + mid) / 3, 1e-5);
}

TEST(BayesEval, NoWindowingUsesTheWholeDirection) {
  const Config c = parse_config(std::string(kHead) + "GAUSSIAN a = 10 2\n", "t.conf", ".");
  Session s(c);
  s.add(10);
  s.add(12);
  s.add(8);
  EXPECT_EQ(s.valid_windows(), 0u);
  // (0 + log10 N(10) + 2 log10 N(12)) / 3
  const double expect = (std::log10(gaussian_pdf(10, 10, 2)) + 2 * std::log10(gaussian_pdf(12, 10, 2))) / 3.0;
  EXPECT_NEAR(s.mean_max_belief(), expect, 1e-12);
}

TEST(BayesEval, LogSpaceDoesNotUnderflow) {
  const Config c = parse_config(
      std::string(kHead) + "MIN_THRESHOLD 1e-30\nGAUSSIAN a = 0 1\nGAUSSIAN b = 99 1\n", "t.conf", ".");
  Session s(c);
  double product = 1;
  for (int i = 0; i < 5000; ++i) {
    s.add(60);  // far from both classes: both pdfs floored at 1e-30
    product *= 1e-30;
  }
  EXPECT_EQ(product, 0.0);  // a plain product underflowed long ago
  for (double b : s.beliefs()) EXPECT_TRUE(std::isfinite(b));
  EXPECT_NEAR(s.beliefs()[0], std::log10(0.5) - 30.0 * 5000, 1e-6);
  // both classes at the floor: the first wins; the normalised belief is finite
  EXPECT_NEAR(s.mean_max_belief(), (std::log10(0.5) - 30.0 * 5000) / 5000, 1e-9);
  Session t(c);
  for (int i = 0; i < 5000; ++i) t.add(i % 2 ? 3 : 2);  // near a only
  const double expect =
      (std::log10(0.5) + 2500 * (std::log10(gaussian_pdf(3, 0, 1)) + std::log10(gaussian_pdf(2, 0, 1)))) /
      5000;
  EXPECT_TRUE(std::isfinite(t.mean_max_belief()));
  EXPECT_NEAR(t.mean_max_belief(), expect, 1e-9);
  EXPECT_EQ(t.beliefs()[1] < -140000, true);
}

// --------------------------------------------------------------- chi-square

TEST(BayesChi2, HandComputed) {
  NibbleChi2 uniform, constant;
  for (unsigned i = 0; i < 16; ++i) {
    std::uint8_t p[8];
    for (auto& b : p) b = static_cast<std::uint8_t>(i | (i << 4));
    uniform.add(p, 8);  // every value once at every position: chi2 = 0
    std::uint8_t k[8] = {0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB};
    constant.add(k, 8);  // 16 x one value: (16-1)^2/1 + 15*(0-1)^2/1 = 240
  }
  for (unsigned j = 0; j < 16; ++j) {
    EXPECT_DOUBLE_EQ(uniform.chi2(j), 0.0);
    EXPECT_DOUBLE_EQ(constant.chi2(j), 240.0);
  }
  // nibble order: byte 0 = 0x21 -> nibble 0 sees 1, nibble 1 sees 2
  NibbleChi2 two;
  for (unsigned i = 0; i < 32; ++i) {
    std::uint8_t p[8] = {static_cast<std::uint8_t>(i % 2 ? 0x21 : 0x20), 0, 0, 0, 0, 0, 0, 0};
    two.add(p, 8);
  }
  // nibble 0: values 0 and 1 sixteen times each, E = 2: 2*(14^2)/2 + 14*(2^2)/2 = 196 + 28 = 224
  EXPECT_DOUBLE_EQ(two.chi2(0), 224.0);
  // nibble 1: always 2: (32-2)^2/2 + 15*2 = 450 + 30 = 480
  EXPECT_DOUBLE_EQ(two.chi2(1), 480.0);
  std::uint8_t shortp[7] = {};
  EXPECT_FALSE(two.add(shortp, 7));
  EXPECT_EQ(two.samples(), 32u);
}

TEST(BayesChi2, TableStopsAtItsCapacity) {
  NibbleChi2 c;
  std::uint8_t p[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (std::uint64_t i = 0; i < NibbleChi2::kMaxSamples; ++i) ASSERT_TRUE(c.add(p, 8));
  EXPECT_FALSE(c.add(p, 8));
  EXPECT_EQ(c.samples(), NibbleChi2::kMaxSamples);
  // one value 65535 times: (n - n/16)^2/(n/16) + 15 n/16 = 15 n
  EXPECT_NEAR(c.chi2(0), 15.0 * 65535, 1e-6);
}

TEST(BayesChi2, Rules) {
  std::array<double, 16> c{};
  c.fill(10);  // all random
  EXPECT_EQ(chi_tcp(c, 50), ChiClass::tcp);
  EXPECT_EQ(chi_tcp(c, 49), ChiClass::not_skype);
  EXPECT_EQ(chi_udp(c), ChiClass::not_skype);
  auto e2e = c;
  e2e[4] = 200;
  e2e[5] = 120;
  EXPECT_EQ(chi_udp(e2e), ChiClass::e2e);
  e2e[5] = 99;
  EXPECT_EQ(chi_udp(e2e), ChiClass::not_skype);
  auto e2o = c;
  for (int j = 0; j < 8; ++j) e2o[j] = 150;
  EXPECT_EQ(chi_udp(e2o), ChiClass::e2o);
  e2o[12] = 150;  // payload not random
  EXPECT_EQ(chi_udp(e2o), ChiClass::not_skype);
  EXPECT_EQ(chi_tcp(e2o, 100), ChiClass::not_skype);
}

TEST(BayesChi2, RandomBytesLookRandom) {
  std::mt19937 rng(7);
  NibbleChi2 c;
  for (int i = 0; i < 500; ++i) {
    std::uint8_t p[8];
    for (auto& b : p) b = static_cast<std::uint8_t>(rng());
    c.add(p, 8);
  }
  for (unsigned j = 0; j < 16; ++j) EXPECT_LT(c.chi2(j), 60.0) << j;  // 15 dof: mean 15
  EXPECT_EQ(chi_tcp(c.all(), c.samples()), ChiClass::tcp);
}
