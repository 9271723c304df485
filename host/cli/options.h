// Command-line, environment (TINYHOST_*) and config-file options.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/net/tls_options.h"

namespace tiny::host {

// A usage error: one line for the user; the CLI exits 2. Control
// characters a user typed into a value (a newline in an argument) are
// shown escaped (\n, \x01), so the line stays one line.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(OneLine(message)) {}

  // `message` with \n and other control characters escaped; also how
  // `send` shows error text a peer sent.
  static std::string OneLine(const std::string& message);
};

struct RunOptions {
  std::string plugin_dir;
  std::vector<std::string> plugins;  // module or file names; empty = all
  std::vector<std::string> flows;
  std::string listen = "0.0.0.0:50051";
  std::string admin_listen;  // "" = no admin listener; ":9090" = every interface
  std::map<std::string, std::string> peers;  // module -> address
  std::string discovery_template;
  TlsOptions tls;
  std::string log_level = "info";
  std::string log_format = "text";
  std::chrono::milliseconds grace_period{10000};
  std::chrono::milliseconds default_deadline{30000};
  std::chrono::milliseconds keepalive_time{10000};
  std::chrono::milliseconds keepalive_timeout{3000};
  std::chrono::milliseconds keepalive_min_time{5000};
  std::chrono::milliseconds reload_interval{1000};
  size_t max_message_size = 4 * 1024 * 1024;
  size_t max_inflight = 10000;
  size_t max_inflight_bytes = size_t{256} * 1024 * 1024;  // request bytes held by calls in flight
  size_t max_queued = 10000;  // deliveries waiting for a thread, per pool
  size_t max_fanout = 65536;  // edge deliveries one message may cause on a host
  size_t worker_threads = 8;
  bool check_only = false;
};

struct SendOptions {
  std::string address;
  std::string to;
  std::string data;  // JSON text (after reading @FILE or stdin)
  std::chrono::milliseconds timeout{30000};
  std::map<std::string, std::string> metadata;
  TlsOptions tls;
  size_t max_message_size = 4 * 1024 * 1024;
  // A load run (any of --count, --concurrency, --duration, --rate, --json):
  // many calls over one channel, then a report instead of the answer.
  bool load = false;
  uint64_t count = 0;  // calls to make; 0 = until the duration ends
  size_t concurrency = 1;
  std::chrono::milliseconds duration{0};  // 0 = until `count` calls are answered
  double rate = 0;                        // calls started per second; 0 = as fast as answered
  bool json = false;
};

struct InspectOptions {
  std::string target;  // PLUGIN.so or MODULE
  std::string plugin_dir;
};

struct GraphOptions {
  std::vector<std::string> flows;
  std::string format = "dot";  // dot | svg
  // Where the plugins that check the flows are. Without --plugin-dir (or
  // TINYHOST_PLUGIN_DIR), the default dir when it exists; with
  // --no-plugins, or when it does not, none: the flows are then checked
  // by name only.
  std::string plugin_dir;
  bool plugin_dir_given = false;
  bool no_plugins = false;
  std::vector<std::string> plugins;  // as run's --plugin: which are served (drawn solid)
};

enum class Command { kRun, kSend, kInspect, kGraph, kHelp, kVersion };

struct Options {
  Command command = Command::kHelp;
  RunOptions run;
  SendOptions send;
  InspectOptions inspect;
  GraphOptions graph;
  std::string help_text;
};

// Parses argv (plus TINYHOST_* variables from `env`, plus --config FILE).
// Throws UsageError with one line naming the bad input.
Options ParseOptions(int argc, const char* const argv[], const std::map<std::string, std::string>& env);

// "250ms", "10s", "2m", "1h"; a bare number is seconds. Throws UsageError.
std::chrono::milliseconds ParseDuration(const std::string& flag, const std::string& text);

// The environment as a map (for ParseOptions).
std::map<std::string, std::string> Environment();

// The plugin directory an installed host uses by default.
std::string DefaultPluginDir();

}  // namespace tiny::host
