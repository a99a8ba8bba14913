// The netloom command: run, check, inspect, report, version.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "composition/composition.hpp"
#include "control.hpp"
#include "inspect.hpp"
#include "metrics.hpp"
#include "netloom/version.hpp"
#include "privileges.hpp"
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
  bool allow_insecure_plugins = false;  // see privileges.hpp / docs/operations.md
  std::string user;                     // run --user USER[:GROUP]
};

// Live control of `netloom run` (docs/control.md); both off by default.
struct LiveOptions {
  std::string control_socket;  // empty: no control socket
  int metrics_port = -1;       // -1: no metrics endpoint; 0: a free port
  std::string metrics_host = "127.0.0.1";
};

void load_plugins(const Common& c, core::Registry& reg) {
  reg.allow_insecure_plugins(c.allow_insecure_plugins);
  std::vector<std::string> errors;
  for (const auto& dir :
       core::plugin_search_path(c.plugin_paths, std::getenv("NETLOOM_PLUGIN_PATH"), exe_dir())) {
    std::error_code ec;
    if (fs::is_regular_file(dir, ec))
      reg.load_file(dir, errors);
    else
      reg.load_dir(dir, errors);
  }
  // Code others could have written is never loaded: the command stops.
  if (!reg.refused().empty()) throw std::runtime_error(reg.refused().front());
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

// What identifies a version of the composition file on disk (editors often
// replace the file, so the inode counts too).
std::string file_stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

// Hot reload of a running composition: rescan the plugin path (new plugins
// become usable; a replaced one is refused), parse and validate the file
// again, and hand the result to the runtime. An invalid composition leaves
// the running graph alone.
class Reloader {
 public:
  Reloader(std::string file, const Common& c, core::Registry& reg, core::Runtime& rt)
      : file_(std::move(file)), c_(c), reg_(reg), rt_(rt), stamp_(file_stamp(file_)) {}

  core::ReloadReport reload(const char* why) {
    std::lock_guard lock(mu_);
    stamp_ = file_stamp(file_);
    std::fprintf(stderr, "netloom: reload (%s): %s\n", why, file_.c_str());
    core::ReloadReport r;
    std::vector<std::string> plugin_errors;
    for (const auto& dir :
         core::plugin_search_path(c_.plugin_paths, std::getenv("NETLOOM_PLUGIN_PATH"), exe_dir())) {
      std::error_code ec;
      if (fs::is_regular_file(dir, ec))
        reg_.load_file(dir, plugin_errors);
      else
        reg_.load_dir(dir, plugin_errors);
    }
    for (const auto& e : plugin_errors) {
      r.lines.push_back("plugin: " + e);
      std::fprintf(stderr, "netloom: reload: plugin: %s\n", e.c_str());
    }
    auto vc = std::make_shared<core::ValidatedComposition>();
    std::map<std::string, std::string> defines;
    parse_defines(c_.defines, defines);
    std::vector<core::Diagnostic> errors;
    core::Composition comp = core::parse_composition_file(file_, defines, errors);
    if (errors.empty()) {
      core::validate_composition(
          comp,
          [&](std::string_view type) -> const BlockInfo* {
            const auto* t = reg_.find(type);
            return t ? &t->info : nullptr;
          },
          *vc, errors);
    }
    if (!errors.empty()) {
      ++refused_;
      for (const auto& e : errors) r.lines.push_back(e.str());
      r.lines.push_back("reload refused: the running graph is unchanged");
      for (const auto& l : r.lines) std::fprintf(stderr, "netloom: reload: %s\n", l.c_str());
      return r;
    }
    core::ReloadReport applied = rt_.reload(vc);  // logs its own lines
    r.applied = applied.applied;
    r.lines.insert(r.lines.end(), applied.lines.begin(), applied.lines.end());
    return r;
  }
  // Reloads refused here (parse/validation errors) that never reached the runtime.
  std::uint64_t refused_before_runtime() {
    std::lock_guard lock(mu_);
    return refused_;
  }
  // Polled by the watcher thread: did the file change since the last look?
  bool changed() {
    std::lock_guard lock(mu_);
    return file_stamp(file_) != stamp_;
  }

 private:
  std::mutex mu_;
  std::string file_;
  const Common& c_;
  core::Registry& reg_;
  core::Runtime& rt_;
  std::string stamp_;
  std::uint64_t refused_ = 0;
};

int cmd_run(const std::string& file, const Common& c, int threads, bool quiet, bool watch,
            const LiveOptions& live) {
  // Handlers first: a signal during start-up (plugins load, blocks configure)
  // must not kill the process with the default action.
  app::install_signal_handlers();
  const auto user = c.user.empty() ? std::optional<app::TargetUser>() : app::resolve_user(c.user);
  core::Registry reg;
  load_plugins(c, reg);
  auto vcp = std::make_shared<core::ValidatedComposition>();
  core::ValidatedComposition& vc = *vcp;
  if (!load_composition(file, c, reg, vc)) return kExitConfig;

  core::RunOptions opts;
  opts.threads = threads;
  core::Runtime rt(reg, vcp, opts);
  std::vector<std::string> errors;
  if (user) app::assume_file_identity(*user);  // blocks open their files as the user
  if (!rt.build(errors)) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return kExitConfig;
  }
  if (user) app::drop_privileges(*user);  // blocks configured, no packet read yet
  app::on_stop_signal([](void* r) { static_cast<core::Runtime*>(r)->stop(); }, &rt);
  auto& flags = app::signal_flags();
  // Signal handlers only set flags; this thread polls them, and is woken at
  // once when the run ends so exit is not delayed by the polling period.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  Reloader reloader(file, c, reg, rt);
  // After the privilege drop, so the socket belongs to the user the run ends
  // up as; declared after rt and reloader, so destroyed (threads joined,
  // socket removed) before them.
  app::ControlHooks hooks;
  hooks.stats = [&rt] { return rt.stats(); };
  hooks.get = [&rt](const std::string& b, const std::string& n, std::string& v, std::string& e) {
    return rt.get_param(b, n, v, e);
  };
  hooks.set = [&rt](const std::string& b, const std::string& n, const std::string& v, std::string& e) {
    return rt.set_param(b, n, v, e);
  };
  hooks.reload = [&reloader] { return reloader.reload("control socket"); };
  hooks.graph_dot = [&rt] { return rt.graph_dot(); };
  hooks.reload_counts = [&rt, &reloader] {
    auto c = rt.reload_counts();
    c.second += reloader.refused_before_runtime();
    return c;
  };
  std::optional<app::ControlServer> control;
  std::optional<app::MetricsServer> metrics;
  if (!live.control_socket.empty()) {
    control.emplace(live.control_socket, hooks);
    if (!quiet) std::fprintf(stderr, "netloom: control socket %s\n", live.control_socket.c_str());
  }
  if (live.metrics_port >= 0) {
    metrics.emplace(live.metrics_host, live.metrics_port, hooks);
    // Printed even with --quiet: with port 0 it is the only way to learn the port.
    std::fprintf(stderr, "netloom: metrics on http://%s:%d/metrics\n", live.metrics_host.c_str(),
                 metrics->port());
  }
  std::thread watcher([&] {
    bool stop_sent = false;
    auto next_look = std::chrono::steady_clock::now();
    std::unique_lock lock(mu);
    while (!finished) {
      if (!stop_sent && flags.stop_requests.load() > 0) {
        std::fprintf(stderr, "netloom: stopping: flushing every block (Ctrl-C again to quit at once)\n");
        rt.stop();
        stop_sent = true;
      }
      if (flags.print_stats.exchange(false))
        std::fprintf(stderr, "%s", core::format_stats(rt.stats()).c_str());
      if (!stop_sent) {
        bool hup = flags.reload.exchange(false);
        bool edited = false;
        if (watch && std::chrono::steady_clock::now() >= next_look) {
          next_look = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
          edited = reloader.changed();
        }
        if (hup || edited) {
          lock.unlock();
          reloader.reload(hup ? "SIGHUP" : "file changed");
          lock.lock();
        }
      }
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
    sub->add_flag("--allow-insecure-plugins", common.allow_insecure_plugins,
                  "load plugins even from a directory or file others could have written to");
  };

  std::string file, type;
  int threads = 0;
  bool quiet = false, markdown = false;

  auto* run = app.add_subcommand("run", "run a composition");
  run->add_option("composition", file, "composition XML file")->required();
  run->add_option("-t,--threads", threads, "worker threads (default: the composition's, else all cores)")
      ->check(CLI::Range(1, 1024));
  run->add_flag("-q,--quiet", quiet, "no summary at exit");
  bool no_watch = false;
  run->add_flag("--no-watch", no_watch,
                "do not reload when the composition file changes (SIGHUP still reloads)");
  run->add_option("--user", common.user,
                  "once the blocks are configured (capture open), drop root for USER[:GROUP] for good");
  LiveOptions live;
  run->add_option("--control-socket", live.control_socket,
                  "serve `netloom ctl` on this Unix socket (mode 0600; docs/control.md)");
  run->add_option("--metrics-port", live.metrics_port,
                  "serve Prometheus metrics on this TCP port (0: a free one, printed at start)")
      ->check(CLI::Range(0, 65535));
  run->add_option("--metrics-host", live.metrics_host, "address the metrics endpoint listens on")
      ->capture_default_str();
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

  std::string ctl_socket;
  auto* ctl = app.add_subcommand("ctl", "send one command to a running `netloom run --control-socket PATH`");
  ctl->add_option("--socket", ctl_socket, "the control socket")
      ->envname("NETLOOM_CONTROL_SOCKET")
      ->required();
  // COMMAND ARGS... pass through untouched (`set b p -1` keeps -1).
  ctl->prefix_command();
  ctl->footer("COMMAND: stats | get BLOCK PARAM | set BLOCK PARAM VALUE | reload | graph | help");

  auto* version = app.add_subcommand("version", "print the version");

  CLI11_PARSE(app, argc, argv);
  try {
    if (*run) return cmd_run(file, common, threads, quiet, !no_watch, live);
    if (*ctl) return app::ctl_main(ctl_socket, ctl->remaining());
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
