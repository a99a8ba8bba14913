#include "signals.hpp"

#include <unistd.h>

#include <csignal>

namespace netloom::app {

SignalFlags& signal_flags() {
  static SignalFlags f;
  return f;
}

namespace {
std::atomic<void (*)(void*)> g_stop_fn{nullptr};
std::atomic<void*> g_stop_arg{nullptr};

void on_stop(int) {
  // A second Ctrl-C means "now": skip the flush.
  if (signal_flags().stop_requests.fetch_add(1) >= 1) _exit(130);
  if (auto fn = g_stop_fn.load()) fn(g_stop_arg.load());
}
void on_usr1(int) { signal_flags().print_stats.store(true); }
void on_hup(int) { signal_flags().reload.store(true); }
}  // namespace

void on_stop_signal(void (*fn)(void*), void* arg) {
  g_stop_arg.store(arg);
  g_stop_fn.store(fn);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  sa.sa_handler = on_hup;
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace netloom::app
