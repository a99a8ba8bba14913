// Signal handling for `netloom run`: handlers only set flags; a watcher
// thread turns them into actions (stop, print stats).
#pragma once
#include <atomic>

namespace netloom::app {

struct SignalFlags {
  std::atomic<int> stop_requests{0};     // SIGINT / SIGTERM count
  std::atomic<bool> print_stats{false};  // SIGUSR1
  std::atomic<bool> reload{false};       // SIGHUP
};

SignalFlags& signal_flags();
void install_signal_handlers();
// Called from the SIGINT/SIGTERM handler itself, so a stop reaches the
// sources at once (before a blocked read's EINTR is seen). Must be
// async-signal-safe, e.g. an atomic store.
void on_stop_signal(void (*fn)(void*), void* arg);

}  // namespace netloom::app
