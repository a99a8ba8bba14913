// The netloom command: run, check, inspect, report, version.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "composition/composition.hpp"
#include "inspect.hpp"
#include "netloom/version.hpp"
#include "report.hpp"
#include "runtime/registry.hpp"
#include "runtime/runtime.hpp"
#include "signals.hpp"

namespace fs = std::filesystem;
using namespace netloom;

namespace {

// Exit codes: 0 clean, 1 errors while running, 2 bad usage/composition.
constexpr int kExitRunErrors = 1;
constexpr int kExitConfig = 2;

fs::path exe_dir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : p.parent_path();
}

struct Common {
  std::vector<std::string> plugin_paths;
  std::vector<std::string> defines;
};

void load_plugins(const Common& c, core::Registry& reg) {
  std::vector<std::string> errors;
  for (const auto& dir :
       core::plugin_search_path(c.plugin_paths, std::getenv("NETLOOM_PLUGIN_PATH"), exe_dir())) {
    std::error_code ec;
    if (fs::is_regular_file(dir, ec))
      reg.load_file(dir, errors);
    else
      reg.load_dir(dir, errors);
  }
  // A broken plugin does not stop compositions that do not use it.
  for (const auto& e : errors) std::fprintf(stderr, "netloom: warning: %s\n", e.c_str());
}

bool parse_defines(const std::vector<std::string>& defs, std::map<std::string, std::string>& out) {
  for (const auto& d : defs) {
    auto eq = d.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "netloom: error: -D %s: expected name=value\n", d.c_str());
      return false;
    }
    out[d.substr(0, eq)] = d.substr(eq + 1);
  }
  return true;
}

// Parse + validate; prints every error. Returns false on any error.
bool load_composition(const std::string& file, const Common& c, const core::Registry& reg,
                      core::ValidatedComposition& out) {
  std::map<std::string, std::string> defines;
  if (!parse_defines(c.defines, defines)) return false;
  std::vector<core::Diagnostic> errors;
  core::Composition comp = core::parse_composition_file(file, defines, errors);
  if (errors.empty()) {
    core::validate_composition(
        comp,
        [&](std::string_view type) -> const BlockInfo* {
          const auto* t = reg.find(type);
          return t ? &t->info : nullptr;
        },
        out, errors);
  }
  for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.str().c_str());
  return errors.empty();
}

int cmd_run(const std::string& file, const Common& c, int threads, bool quiet) {
  core::Registry reg;
  load_plugins(c, reg);
  core::ValidatedComposition vc;
  if (!load_composition(file, c, reg, vc)) return kExitConfig;

  core::RunOptions opts;
  opts.threads = threads;
  core::Runtime rt(reg, vc, opts);
  std::vector<std::string> errors;
  if (!rt.build(errors)) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return kExitConfig;
  }
  app::on_stop_signal([](void* r) { static_cast<core::Runtime*>(r)->stop(); }, &rt);
  app::install_signal_handlers();
  auto& flags = app::signal_flags();
  // Signal handlers only set flags; this thread polls them, and is woken at
  // once when the run ends so exit is not delayed by the polling period.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watcher([&] {
    bool stop_sent = false;
    std::unique_lock lock(mu);
    while (!finished) {
      if (!stop_sent && flags.stop_requests.load() > 0) {
        std::fprintf(stderr, "netloom: stopping: flushing every block (Ctrl-C again to quit at once)\n");
        rt.stop();
        stop_sent = true;
      }
      if (flags.print_stats.exchange(false))
        std::fprintf(stderr, "%s", core::format_stats(rt.stats()).c_str());
      cv.wait_for(lock, std::chrono::milliseconds(50));
    }
  });

  auto t0 = std::chrono::steady_clock::now();
  std::uint64_t run_errors = rt.run();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard lock(mu);
    finished = true;
  }
  cv.notify_one();
  watcher.join();
  app::on_stop_signal(nullptr, nullptr);

  auto stats = rt.stats();
  if (!quiet) {
    std::uint64_t packets = 0;
    for (const auto& b : stats)
      if (b.inputs.empty())
        for (const auto& p : b.outputs) packets += p.items;
    std::fprintf(stderr, "netloom: %s finished in %.2f s: %llu packets from the sources%s\n", file.c_str(),
                 secs, static_cast<unsigned long long>(packets),
                 flags.stop_requests.load() > 0 ? " (stopped by signal)" : "");
    std::fprintf(stderr, "%s", core::format_stats(stats).c_str());
  }
  return run_errors ? kExitRunErrors : 0;
}

int cmd_check(const std::string& file, const Common& c) {
  core::Registry reg;
  load_plugins(c, reg);
  core::ValidatedComposition vc;
  if (!load_composition(file, c, reg, vc)) return kExitConfig;
  std::printf("%s: OK (%zu blocks, %zu connections)\n", file.c_str(), vc.comp.blocks.size(),
              vc.comp.connections.size());
  return 0;
}

int cmd_inspect(const std::string& type, bool markdown, const Common& c) {
  core::Registry reg;
  load_plugins(c, reg);
  if (markdown) {
    std::cout << app::markdown_reference(reg);
    return 0;
  }
  if (type.empty()) {
    std::cout << app::list_types(reg);
    return 0;
  }
  const auto* t = reg.find(type);
  if (t == nullptr) {
    std::fprintf(stderr, "netloom: error: no block type '%s' (netloom inspect lists them)\n", type.c_str());
    return kExitConfig;
  }
  std::cout << app::describe_type(*t);
  return 0;
}

int cmd_report(const app::ReportOptions& o) {
  app::Report r = app::render_report(o);
  for (const auto& w : r.warnings) std::fprintf(stderr, "netloom: warning: %s\n", w.c_str());
  std::printf("%s/index.html: %zu graphs\n", o.out_dir.c_str(), r.graphs.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"netloom — composable passive network traffic analysis"};
  app.require_subcommand(1);
  Common common;
  auto add_common = [&](CLI::App* sub, bool defines) {
    sub->add_option("--plugin-path", common.plugin_paths,
                    "extra plugin directory or .so file (repeatable; also NETLOOM_PLUGIN_PATH)");
    if (defines)
      sub->add_option("-D,--define", common.defines, "deployment variable name=value (repeatable)");
  };

  std::string file, type;
  int threads = 0;
  bool quiet = false, markdown = false;

  auto* run = app.add_subcommand("run", "run a composition");
  run->add_option("composition", file, "composition XML file")->required();
  run->add_option("-t,--threads", threads, "worker threads (default: the composition's, else all cores)")
      ->check(CLI::Range(1, 1024));
  run->add_flag("-q,--quiet", quiet, "no summary at exit");
  add_common(run, true);

  auto* check = app.add_subcommand("check", "validate a composition without running it");
  check->add_option("composition", file, "composition XML file")->required();
  add_common(check, true);

  auto* inspect = app.add_subcommand("inspect", "list block types, or describe one");
  inspect->add_option("type", type, "block type");
  inspect->add_flag("--markdown", markdown, "print the block reference of every type as Markdown");
  add_common(inspect, false);

  app::ReportOptions report_opts;
  auto* report = app.add_subcommand("report", "render PNG graphs and index.html from an RRD directory");
  report->add_option("rrd_dir", report_opts.rrd_dir, "directory of .rrd files (RRDSink's dir)")->required();
  report->add_option("out_dir", report_opts.out_dir, "where the PNGs and index.html go")->required();
  report->add_option("--width", report_opts.width, "PNG width in pixels")->check(CLI::Range(200, 10000));
  report->add_option("--height", report_opts.height, "PNG height in pixels")->check(CLI::Range(100, 10000));
  report->add_option("--start", report_opts.start,
                     "start (rrdtool time: epoch seconds, end-6h...; default: first known value)");
  report->add_option("--end", report_opts.end, "end (rrdtool time; default: the last update, packet time)");

  auto* version = app.add_subcommand("version", "print the version");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*run) return cmd_run(file, common, threads, quiet);
    if (*check) return cmd_check(file, common);
    if (*inspect) return cmd_inspect(type, markdown, common);
    if (*report) return cmd_report(report_opts);
    if (*version) {
      std::printf("netloom %s (plugin ABI %u)\n", kVersion, kAbiVersion);
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netloom: error: %s\n", e.what());
    return kExitConfig;
  }
  return 0;
}
