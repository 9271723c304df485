#include "host/cli/options.h"

#include <boost/program_options.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "host/base/excerpt.h"
#include "host/base/names.h"

extern char** environ;

#ifndef TINYHOST_DEFAULT_PLUGIN_DIR
#define TINYHOST_DEFAULT_PLUGIN_DIR "/usr/lib/tinyhost/plugins"
#endif

namespace tiny::host {
namespace po = boost::program_options;

std::string UsageError::OneLine(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : message) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

const char* kUsage =
    "usage: tinyhost run --plugin-dir DIR [--plugin NAME[,NAME]]... --flow FILE... [options]\n"
    "       tinyhost send --address HOST:PORT --to NODE.PORT [--data JSON|@FILE|-] [--timeout DUR]\n"
    "                     [--count N] [--concurrency C] [--duration DUR] [--rate R] [--json]\n"
    "       tinyhost inspect PLUGIN.so|MODULE [--plugin-dir DIR]\n"
    "       tinyhost graph FLOW... [--format dot|svg] [--plugin-dir DIR [--plugin NAME]... | --no-plugins]\n"
    "       tinyhost --help | --version\n";

std::vector<std::string> SplitList(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ','))
      if (!part.empty()) out.push_back(part);
  }
  return out;
}

// The largest values the run options take: gRPC sizes are ints; more
// threads or calls than these are a typo, not a plan.
constexpr size_t kMaxMessageSize = 2147483647;
constexpr size_t kMaxWorkerThreads = 1024;
constexpr size_t kMaxInflight = 1000000;
constexpr size_t kMaxInflightBytes = size_t{1} << 40;  // 1 TiB
constexpr size_t kMaxQueued = 1000000;
constexpr size_t kMaxFanout = size_t{1} << 32;
// send's load run.
constexpr double kMaxCount = 1e12;
constexpr double kMaxConcurrency = 10000;
constexpr double kMaxRate = 1e7;

// A flag's value as an error line shows it: cut to 64 bytes.
std::string Shown(std::string_view text) { return Excerpt(text, 64); }

// A number as written in a size or duration: digits, then (if
// `fraction`) an optional "." and digits. Stops at the first other
// character; *end is where. False when there are no leading digits or the
// value passes `max` (so any number of digits is read in one pass and
// refused, never overflowed).
bool ReadNumber(std::string_view text, bool fraction, double max, double* value, size_t* end) {
  size_t i = 0;
  double v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    v = v * 10 + (text[i] - '0');
    if (v > max) v = max * 2;  // stays "too big" without growing towards inf
    ++i;
  }
  if (i == 0) return false;
  if (fraction && i < text.size() && text[i] == '.' && i + 1 < text.size() && text[i + 1] >= '0' &&
      text[i + 1] <= '9') {
    double scale = 0.1;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10) v += (text[i] - '0') * scale;
  }
  *value = v;
  *end = i;
  return true;
}

size_t ParseSize(const std::string& flag, const std::string& text, size_t max) {
  auto bad = [&] { return UsageError(flag + ": '" + Shown(text) + "' is not a size (e.g. 4194304, 4MiB)"); };
  double n = 0;
  size_t end = 0;
  if (!ReadNumber(text, false, static_cast<double>(max), &n, &end)) throw bad();
  while (end < text.size() && (text[end] == ' ' || text[end] == '\t')) ++end;
  std::string_view unit = std::string_view(text).substr(end);
  double scale = unit.empty() || unit == "B"      ? 1.0
                 : unit == "KiB" || unit == "K" ? 1024.0
                 : unit == "MiB" || unit == "M" ? 1024.0 * 1024
                 : unit == "GiB" || unit == "G" ? 1024.0 * 1024 * 1024
                                                : 0;
  if (scale == 0) throw bad();
  if (n * scale > static_cast<double>(max))
    throw UsageError(flag + ": '" + Shown(text) + "' is out of range (at most " + std::to_string(max) + " bytes)");
  return static_cast<size_t>(n * scale);
}

void CheckHostPort(const std::string& flag, const std::string& value, bool any_host = false) {
  size_t colon = value.rfind(':');
  if (colon == std::string::npos || (colon == 0 && !any_host) || colon + 1 == value.size())
    throw UsageError(flag + ": '" + value + "' is not HOST:PORT");
  std::string port = value.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) > 65535)
    throw UsageError(flag + ": '" + value + "' has an invalid port");
}

// Maps TINYHOST_PLUGIN_DIR to plugin-dir for the options `desc` knows.
std::string EnvName(const std::string& var, const po::options_description& desc) {
  const std::string prefix = "TINYHOST_";
  if (var.rfind(prefix, 0) != 0) return {};
  std::string name = var.substr(prefix.size());
  for (auto& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return desc.find_nothrow(name, false) ? name : std::string();
}

// Boost's error_with_option_name::what() fills its template by replacing
// each %placeholder% with the text the user gave, in a loop that starts over
// from the top after every replacement: an argument that contains the
// placeholder itself ("--%canonical_option%", "--max-queued %value%") makes
// it run forever while the message grows. So every substituted text has its
// '%' written as "%25" first (no placeholder can then appear in it) and only
// then is the message built.
struct SubstitutionsOf : po::error_with_option_name {
  static std::map<std::string, std::string>& Of(po::error_with_option_name& e) {
    return e.*(&SubstitutionsOf::m_substitutions);
  }
};

std::string DefusedWhat(po::error_with_option_name& e) {
  std::map<std::string, std::string> defused;
  for (const auto& [key, text] : SubstitutionsOf::Of(e)) {
    std::string safe;
    for (char c : text) safe += c == '%' ? std::string("%25") : std::string(1, c);
    defused[key] = std::move(safe);
  }
  for (const auto& [key, text] : defused) e.set_substitute(key, text);
  return e.what();
}

po::options_description RunDescription(RunOptions& o) {
  po::options_description d("run options");
  d.add_options()
      ("plugin-dir", po::value<std::string>(), ("directory of plugin .so files (default: " + DefaultPluginDir() + ")").c_str())
      ("plugin", po::value<std::vector<std::string>>(), "module or file names to serve (default: all)")
      ("flow", po::value<std::vector<std::string>>()->multitoken(), "flow YAML files: --flow a.yaml b.yaml, repeatable, or comma-separated")
      ("listen", po::value<std::string>(&o.listen)->default_value(o.listen), "gRPC listen HOST:PORT (port 0: any) or unix:PATH")
      ("admin-listen", po::value<std::string>(&o.admin_listen),
       "admin HTTP HOST:PORT or :PORT (/metrics, /healthz, /readyz, /status, the flow page); off by default")
      ("peer", po::value<std::vector<std::string>>(), "MODULE=ADDR of a host serving MODULE (repeatable)")
      ("discovery-template", po::value<std::string>(&o.discovery_template), "target template with {module}")
      ("tls-cert", po::value<std::string>(&o.tls.cert), "PEM certificate chain")
      ("tls-key", po::value<std::string>(&o.tls.key), "PEM private key")
      ("tls-ca", po::value<std::string>(&o.tls.ca), "PEM CA bundle; requires client certificates")
      ("log-level", po::value<std::string>(&o.log_level)->default_value(o.log_level), "trace|debug|info|warn|error")
      ("log-format", po::value<std::string>(&o.log_format)->default_value(o.log_format), "text|json")
      ("grace-period", po::value<std::string>()->default_value("10s"), "drain time on SIGTERM")
      ("default-deadline", po::value<std::string>()->default_value("30s"), "deadline of messages without one")
      ("keepalive-time", po::value<std::string>()->default_value("10s"), "client ping interval")
      ("keepalive-timeout", po::value<std::string>()->default_value("3s"), "ping answer timeout")
      ("keepalive-min-time", po::value<std::string>()->default_value("5s"), "server: minimum ping interval accepted")
      ("max-message-size", po::value<std::string>()->default_value("4MiB"), "largest message, both ways")
      ("max-inflight", po::value<size_t>(&o.max_inflight)->default_value(o.max_inflight), "concurrent Send calls before RESOURCE_EXHAUSTED")
      ("max-inflight-bytes", po::value<std::string>()->default_value("256MiB"), "request bytes held by Send calls in flight before RESOURCE_EXHAUSTED")
      ("max-queued", po::value<size_t>(&o.max_queued)->default_value(o.max_queued), "messages waiting for a worker thread (and, apart, for a dispatch thread) before RESOURCE_EXHAUSTED")
      ("max-fanout", po::value<size_t>(&o.max_fanout)->default_value(o.max_fanout), "edge deliveries one message may cause on this host before FAILED_PRECONDITION")
      ("worker-threads", po::value<size_t>(&o.worker_threads)->default_value(o.worker_threads), "threads for blocking components")
      ("reload-interval", po::value<std::string>()->default_value("1s"), "flow file poll interval (0: off)")
      ("check", po::bool_switch(&o.check_only), "load plugins and validate flows, then exit")
      ("config", po::value<std::string>(), "config file of key = value lines (same names as flags)");
  return d;
}

po::options_description SendDescription(SendOptions& o) {
  po::options_description d("send options");
  d.add_options()
      ("address", po::value<std::string>(&o.address), "HOST:PORT of a host")
      ("to", po::value<std::string>(&o.to), "NODE.PORT")
      ("data", po::value<std::string>(), "JSON, @FILE, or - for standard input")
      ("timeout", po::value<std::string>()->default_value("30s"), "deadline of each call")
      ("count", po::value<std::string>(), "load run: calls to make (default 1, or no limit with --duration)")
      ("concurrency", po::value<std::string>(), "load run: calls in flight at once (default 1)")
      ("duration", po::value<std::string>(), "load run: stop starting calls after DUR")
      ("rate", po::value<std::string>(), "load run: start at most R calls per second")
      ("json", po::bool_switch(&o.json), "load run: the report as one JSON object")
      ("metadata", po::value<std::vector<std::string>>(), "KEY=VALUE (repeatable)")
      ("tls-cert", po::value<std::string>(&o.tls.cert), "PEM client certificate")
      ("tls-key", po::value<std::string>(&o.tls.key), "PEM client key")
      ("tls-ca", po::value<std::string>(&o.tls.ca), "PEM CA bundle")
      ("max-message-size", po::value<std::string>()->default_value("4MiB"), "largest message, both ways")
      ("config", po::value<std::string>(), "config file");
  return d;
}

po::options_description InspectDescription(InspectOptions& o) {
  po::options_description d("inspect options");
  d.add_options()("plugin-dir", po::value<std::string>(&o.plugin_dir), "where to find MODULE")(
      "target", po::value<std::string>(&o.target), "PLUGIN.so or MODULE");
  return d;
}

po::options_description GraphDescription(GraphOptions& o) {
  po::options_description d("graph options");
  d.add_options()
      ("format", po::value<std::string>(&o.format)->default_value(o.format), "dot (Graphviz text) or svg (laid out)")
      ("plugin-dir", po::value<std::string>(), "plugins that check the flows (default: the installed ones, if any)")
      ("plugin", po::value<std::vector<std::string>>(), "module or file names a host would serve; the others are drawn as remote")
      ("no-plugins", po::bool_switch(&o.no_plugins), "load no plugin: check names and edges only")
      ("flow", po::value<std::vector<std::string>>()->multitoken(), "flow YAML files (also as plain arguments)")
      ("config", po::value<std::string>(), "config file");
  return d;
}

po::variables_map Parse(const std::vector<std::string>& args, const po::options_description& desc,
                        const po::positional_options_description* positional,
                        const std::map<std::string, std::string>& env) {
  po::variables_map vm;
  try {
    po::command_line_parser parser(args);
    parser.options(desc).style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing);
    if (positional) parser.positional(*positional);
    po::parsed_options parsed = parser.run();
    // A word that belongs to no option (a second file after --data, a
    // typo'd flag without dashes) is an error, never silently dropped.
    if (!positional)
      for (const auto& opt : parsed.options)
        if (opt.position_key >= 0 || opt.string_key.empty())
          throw UsageError("unexpected argument '" + (opt.original_tokens.empty() ? std::string() : opt.original_tokens[0]) +
                           "'");
    po::store(parsed, vm);
    // The environment, below the command line.
    po::parsed_options from_env(&desc);
    for (const auto& [var, value] : env) {
      std::string name = EnvName(var, desc);
      if (name.empty() || (vm.count(name) && !vm[name].defaulted())) continue;
      po::option opt;
      opt.string_key = name;
      opt.value.push_back(value);
      from_env.options.push_back(opt);
    }
    po::store(from_env, vm);
    if (vm.count("config")) {
      std::string file = vm["config"].as<std::string>();
      std::ifstream in(file);
      if (!in) throw UsageError("--config: cannot read '" + file + "'");
      po::store(po::parse_config_file(in, desc, false), vm);
    }
    po::notify(vm);
  } catch (po::error_with_option_name& e) {
    throw UsageError(DefusedWhat(e));
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return vm;
}

// --data's value: the JSON itself, @FILE, or "-" (standard input). A file
// or stream is read up to `max` bytes; a longer one is refused, not held.
// A trailing line break is dropped.
std::string ReadDataArg(const std::string& value, size_t max) {
  if (value != "-" && (value.empty() || value[0] != '@')) return value;
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string name = "standard input";
  if (value != "-") {
    name = "'" + Shown(value.substr(1)) + "'";
    file.open(value.substr(1), std::ios::binary);
    if (!file) throw UsageError("--data: cannot read " + name);
    in = &file;
  }
  std::string text;
  char buf[65536];
  while (in->read(buf, sizeof buf) || in->gcount() > 0) {
    text.append(buf, static_cast<size_t>(in->gcount()));
    if (text.size() > max)
      throw UsageError("--data: " + name + " is larger than --max-message-size (" + std::to_string(max) + " bytes)");
  }
  if (in->bad()) throw UsageError("--data: cannot read " + name);
  // The newline an editor or `echo` leaves at the end is not part of the
  // message (JSON ignores trailing whitespace; an echo would return it).
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// A whole number in 1..max for a load flag.
uint64_t ParseCount(const std::string& flag, const std::string& text, double max) {
  double n = 0;
  size_t end = 0;
  if (!ReadNumber(text, false, max, &n, &end) || end != text.size())
    throw UsageError(flag + ": '" + Shown(text) + "' is not a whole number");
  if (n < 1 || n > max)
    throw UsageError(flag + ": '" + Shown(text) + "' is out of range (1.." + std::to_string(static_cast<uint64_t>(max)) +
                     ")");
  return static_cast<uint64_t>(n);
}

}  // namespace

std::string DefaultPluginDir() {
#ifdef TINYHOST_PLUGIN_DIR_FROM_BIN
  // <prefix>/bin/tinyhost -> <prefix>/lib/tinyhost/plugins, wherever the
  // prefix is now; only if that directory exists (not in a build tree).
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path dir = (exe.parent_path() / TINYHOST_PLUGIN_DIR_FROM_BIN).lexically_normal();
    if (std::filesystem::is_directory(dir, ec)) return dir.string();
  }
#endif
  return TINYHOST_DEFAULT_PLUGIN_DIR;
}

std::chrono::milliseconds ParseDuration(const std::string& flag, const std::string& text) {
  constexpr double kMaxMs = 24.0 * 3600 * 1000;
  double n = 0;
  size_t end = 0;
  bool number = ReadNumber(text, true, kMaxMs, &n, &end);
  std::string_view unit = number ? std::string_view(text).substr(end) : std::string_view();
  double scale = unit == "ms" ? 1.0 : unit == "s" || unit.empty() ? 1000.0 : unit == "m" ? 60000.0 : unit == "h" ? 3600000.0 : 0;
  if (!number || scale == 0)
    throw UsageError(flag + ": '" + Shown(text) + "' is not a duration (e.g. 250ms, 10s, 2m)");
  if (n * scale > kMaxMs) throw UsageError(flag + ": '" + Shown(text) + "' is out of range (at most 24h)");
  return std::chrono::milliseconds(static_cast<long long>(n * scale));
}

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

Options ParseOptions(int argc, const char* const argv[], const std::map<std::string, std::string>& env) {
  Options out;
  std::vector<std::string> args(argv + 1, argv + argc);
  RunOptions run_defaults;
  SendOptions send_defaults;
  InspectOptions inspect_defaults;
  GraphOptions graph_defaults;
  std::ostringstream help;
  help << kUsage << "\n"
       << RunDescription(run_defaults) << "\n"
       << SendDescription(send_defaults) << "\n"
       << GraphDescription(graph_defaults) << "\n"
       << "Every run/send/graph option may also come from a TINYHOST_<NAME> environment variable\n"
          "(e.g. TINYHOST_PLUGIN_DIR, TINYHOST_FLOW=a.yaml,b.yaml) or a --config file.\n";
  out.help_text = help.str();

  if (args.empty()) throw UsageError("missing command (run, send, inspect, graph)");
  std::string cmd = args.front();
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    out.command = Command::kHelp;
    return out;
  }
  if (cmd == "--version" || cmd == "version") {
    out.command = Command::kVersion;
    return out;
  }
  args.erase(args.begin());
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      out.command = Command::kHelp;
      return out;
    }

  if (cmd == "run") {
    out.command = Command::kRun;
    RunOptions& o = out.run;
    auto desc = RunDescription(o);
    auto vm = Parse(args, desc, nullptr, env);
    o.plugin_dir = vm.count("plugin-dir") ? vm["plugin-dir"].as<std::string>() : DefaultPluginDir();
    if (vm.count("plugin")) o.plugins = SplitList(vm["plugin"].as<std::vector<std::string>>());
    if (vm.count("flow")) o.flows = SplitList(vm["flow"].as<std::vector<std::string>>());
    if (o.flows.empty()) throw UsageError("run: at least one --flow FILE is required");
    // HOST:PORT, or a Unix socket (unix:PATH) for hosts on one machine.
    if (o.listen.rfind("unix:", 0) != 0 || o.listen.size() == 5) CheckHostPort("--listen", o.listen);
    // ":9090" (every interface) is allowed here, as in the container image.
    if (!o.admin_listen.empty())
      CheckHostPort("--admin-listen", o.admin_listen, /*any_host=*/true);
    if (vm.count("peer")) {
      for (const auto& p : SplitList(vm["peer"].as<std::vector<std::string>>())) {
        size_t eq = p.find('=');
        if (eq == std::string::npos || !IsDnsLabel(p.substr(0, eq)) || eq + 1 == p.size())
          throw UsageError("--peer: '" + p + "' is not MODULE=HOST:PORT");
        o.peers[p.substr(0, eq)] = p.substr(eq + 1);
      }
    }
    if (!o.discovery_template.empty() && o.discovery_template.find("{module}") == std::string::npos)
      throw UsageError("--discovery-template: '" + o.discovery_template + "' has no {module} placeholder");
    if (o.tls.enabled() && (o.tls.cert.empty() || o.tls.key.empty()))
      throw UsageError("--tls-cert and --tls-key go together");
    o.grace_period = ParseDuration("--grace-period", vm["grace-period"].as<std::string>());
    o.default_deadline = ParseDuration("--default-deadline", vm["default-deadline"].as<std::string>());
    o.keepalive_time = ParseDuration("--keepalive-time", vm["keepalive-time"].as<std::string>());
    o.keepalive_timeout = ParseDuration("--keepalive-timeout", vm["keepalive-timeout"].as<std::string>());
    o.keepalive_min_time = ParseDuration("--keepalive-min-time", vm["keepalive-min-time"].as<std::string>());
    o.reload_interval = ParseDuration("--reload-interval", vm["reload-interval"].as<std::string>());
    o.max_message_size = ParseSize("--max-message-size", vm["max-message-size"].as<std::string>(), kMaxMessageSize);
    o.max_inflight_bytes =
        ParseSize("--max-inflight-bytes", vm["max-inflight-bytes"].as<std::string>(), kMaxInflightBytes);
    if (o.default_deadline.count() <= 0) throw UsageError("--default-deadline must be positive");
    if (o.max_inflight_bytes == 0) throw UsageError("--max-inflight-bytes must be positive");
    if (o.worker_threads == 0 || o.worker_threads > kMaxWorkerThreads)
      throw UsageError("--worker-threads: " + std::to_string(o.worker_threads) + " is out of range (1.." +
                       std::to_string(kMaxWorkerThreads) + ")");
    if (o.max_fanout == 0 || o.max_fanout > kMaxFanout)
      throw UsageError("--max-fanout: " + std::to_string(o.max_fanout) + " is out of range (1.." +
                       std::to_string(kMaxFanout) + ")");
    if (o.max_inflight == 0 || o.max_inflight > kMaxInflight)
      throw UsageError("--max-inflight: " + std::to_string(o.max_inflight) + " is out of range (1.." +
                       std::to_string(kMaxInflight) + ")");
    if (o.max_queued == 0 || o.max_queued > kMaxQueued)
      throw UsageError("--max-queued: " + std::to_string(o.max_queued) + " is out of range (1.." +
                       std::to_string(kMaxQueued) + ")");
    static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
    if (std::find(std::begin(kLevels), std::end(kLevels), o.log_level) == std::end(kLevels))
      throw UsageError("--log-level: unknown level '" + o.log_level + "' (trace, debug, info, warn, error, off)");
    if (o.log_format != "text" && o.log_format != "json")
      throw UsageError("--log-format: unknown format '" + o.log_format + "' (text, json)");
    return out;
  }
  if (cmd == "send") {
    out.command = Command::kSend;
    SendOptions& o = out.send;
    auto desc = SendDescription(o);
    auto vm = Parse(args, desc, nullptr, env);
    if (o.address.empty()) throw UsageError("send: --address HOST:PORT is required");
    if (o.to.empty()) throw UsageError("send: --to NODE.PORT is required");
    if (!SplitAddress(o.to)) throw UsageError("--to: '" + o.to + "' is not NODE.PORT");
    o.timeout = ParseDuration("--timeout", vm["timeout"].as<std::string>());
    o.max_message_size = ParseSize("--max-message-size", vm["max-message-size"].as<std::string>(), kMaxMessageSize);
    if (vm.count("data")) o.data = ReadDataArg(vm["data"].as<std::string>(), o.max_message_size);
    o.load = o.json || vm.count("count") || vm.count("concurrency") || vm.count("duration") || vm.count("rate");
    if (vm.count("count")) o.count = ParseCount("--count", vm["count"].as<std::string>(), kMaxCount);
    if (vm.count("concurrency"))
      o.concurrency = ParseCount("--concurrency", vm["concurrency"].as<std::string>(), kMaxConcurrency);
    if (vm.count("duration")) {
      o.duration = ParseDuration("--duration", vm["duration"].as<std::string>());
      if (o.duration.count() <= 0) throw UsageError("--duration: must be more than 0");
    }
    if (vm.count("rate")) {
      const std::string& text = vm["rate"].as<std::string>();
      size_t end = 0;
      if (!ReadNumber(text, true, kMaxRate, &o.rate, &end) || end != text.size())
        throw UsageError("--rate: '" + Shown(text) + "' is not a number of calls per second");
      if (o.rate <= 0 || o.rate > kMaxRate)
        throw UsageError("--rate: '" + Shown(text) + "' is out of range (more than 0, at most 10000000)");
    }
    if (o.load && o.count == 0 && o.duration.count() == 0) o.count = 1;
    if (vm.count("metadata")) {
      for (const auto& kv : vm["metadata"].as<std::vector<std::string>>()) {
        size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--metadata: '" + kv + "' is not KEY=VALUE");
        o.metadata[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
    }
    return out;
  }
  if (cmd == "inspect") {
    out.command = Command::kInspect;
    InspectOptions& o = out.inspect;
    auto desc = InspectDescription(o);
    po::positional_options_description pos;
    pos.add("target", 1);
    Parse(args, desc, &pos, env);
    if (o.target.empty()) throw UsageError("inspect: name a PLUGIN.so file or a MODULE");
    if (o.plugin_dir.empty()) o.plugin_dir = DefaultPluginDir();
    return out;
  }
  if (cmd == "graph") {
    out.command = Command::kGraph;
    GraphOptions& o = out.graph;
    auto desc = GraphDescription(o);
    po::positional_options_description pos;
    pos.add("flow", -1);
    auto vm = Parse(args, desc, &pos, env);
    if (vm.count("flow")) o.flows = SplitList(vm["flow"].as<std::vector<std::string>>());
    if (o.flows.empty()) throw UsageError("graph: name at least one FLOW file");
    if (o.format != "dot" && o.format != "svg")
      throw UsageError("--format: unknown format '" + Shown(o.format) + "' (dot, svg)");
    o.plugin_dir_given = vm.count("plugin-dir") > 0;
    if (o.no_plugins && (o.plugin_dir_given || vm.count("plugin")))
      throw UsageError("--no-plugins: no --plugin-dir or --plugin goes with it");
    o.plugin_dir = o.plugin_dir_given ? vm["plugin-dir"].as<std::string>() : DefaultPluginDir();
    if (vm.count("plugin")) o.plugins = SplitList(vm["plugin"].as<std::vector<std::string>>());
    return out;
  }
  throw UsageError("unknown command '" + cmd + "' (run, send, inspect, graph)");
}

}  // namespace tiny::host
