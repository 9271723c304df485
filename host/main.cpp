// tinyhost: parse options, then run one command. The life of a host is in
// run_command.cpp (load plugins → load flows → serve → wait → drain).
#include <absl/synchronization/mutex.h>

#include <iostream>

#include "host/cli/commands.h"
#include "host/cli/options.h"
#include "tiny/plugin.h"

#ifndef TINYHOST_VERSION
#define TINYHOST_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using namespace tiny::host;
  // Debian's Abseil ships with mutex deadlock detection on; gRPC's mutexes
  // then pay for cycle bookkeeping on every lock (about 8k instructions per
  // Send, docs/performance.md). The host's own locks are std::mutex.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  Options options;
  try {
    options = ParseOptions(argc, argv, Environment());
  } catch (const UsageError& e) {
    std::cerr << "tinyhost: error: " << e.what() << " (see tinyhost --help)\n";
    return 2;
  }
  switch (options.command) {
    case Command::kHelp:
      std::cout << options.help_text;
      return 0;
    case Command::kVersion:
      std::cout << "tinyhost " << TINYHOST_VERSION << " (plugin ABI " << TINY_ABI_VERSION_MAJOR << "."
                << TINY_ABI_VERSION_MINOR << ")\n";
      return 0;
    case Command::kRun:
      return RunHost(options.run);
    case Command::kSend:
      return RunSend(options.send);
    case Command::kInspect:
      return RunInspect(options.inspect);
    case Command::kGraph:
      return RunGraph(options.graph);
  }
  return 2;
}
