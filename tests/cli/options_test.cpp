// ParseOptions and its pieces: defaults, every value form, the order of the
// sources (command line over TINYHOST_* over --config), and the one line of
// each usage error. The binary's exit code for these is cli_test.py's.
#include "host/cli/options.h"

#include <doctest/doctest.h>

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using tiny::host::Command;
using tiny::host::Options;
using tiny::host::ParseDuration;
using tiny::host::ParseOptions;
using tiny::host::UsageError;
using tiny::test::TempDir;
using Env = std::map<std::string, std::string>;

Options Parse(const std::vector<std::string>& args, const Env& env = {}) {
  std::vector<std::string> words{"tinyhost"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& w : words) argv.push_back(w.c_str());
  return ParseOptions(static_cast<int>(argv.size()), argv.data(), env);
}

// The usage error `args` cause; fails the test when they parse, or when the
// message is not one line.
std::string ErrorOf(const std::vector<std::string>& args, const Env& env = {}) {
  try {
    Parse(args, env);
  } catch (const UsageError& e) {
    std::string what = e.what();
    CHECK_MESSAGE(what.find('\n') == std::string::npos, "not one line: " << what);
    return what;
  }
  FAIL("parsed without a usage error");
  return {};
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("run: the defaults are the documented ones") {
  Options o = Parse({"run", "--flow", "a.yaml"});
  CHECK(o.command == Command::kRun);
  const auto& r = o.run;
  CHECK(r.flows == std::vector<std::string>{"a.yaml"});
  CHECK(r.plugin_dir == tiny::host::DefaultPluginDir());
  CHECK(r.plugins.empty());
  CHECK(r.listen == "0.0.0.0:50051");
  CHECK(r.peers.empty());
  CHECK(r.discovery_template.empty());
  CHECK_FALSE(r.tls.enabled());
  CHECK(r.log_level == "info");
  CHECK(r.log_format == "text");
  CHECK(r.grace_period == 10s);
  CHECK(r.default_deadline == 30s);
  CHECK(r.keepalive_time == 10s);
  CHECK(r.keepalive_timeout == 3s);
  CHECK(r.keepalive_min_time == 5s);
  CHECK(r.reload_interval == 1s);
  CHECK(r.max_message_size == 4u * 1024 * 1024);
  CHECK(r.max_inflight == 10000);
  CHECK(r.max_inflight_bytes == 256u * 1024 * 1024);
  CHECK(r.max_queued == 10000);
  CHECK(r.worker_threads == 8);
  CHECK_FALSE(r.check_only);
}

TEST_CASE("run: every flag reaches its field") {
  Options o = Parse({"run",
                     "--plugin-dir",
                     "/p",
                     "--plugin",
                     "a,b",
                     "--plugin",
                     "c",
                     "--flow",
                     "f.yaml",
                     "--listen",
                     "127.0.0.1:0",
                     "--peer",
                     "m1=h1:1,m2=h2:2",
                     "--peer",
                     "m3=dns:///x:3",
                     "--discovery-template",
                     "{module}.svc:50051",
                     "--tls-cert",
                     "c.pem",
                     "--tls-key",
                     "k.pem",
                     "--tls-ca",
                     "ca.pem",
                     "--log-level",
                     "debug",
                     "--log-format",
                     "json",
                     "--grace-period",
                     "2s",
                     "--default-deadline",
                     "250ms",
                     "--keepalive-time",
                     "1m",
                     "--keepalive-timeout",
                     "1s",
                     "--keepalive-min-time",
                     "1h",
                     "--max-message-size",
                     "1MiB",
                     "--max-inflight",
                     "7",
                     "--max-inflight-bytes",
                     "8MiB",
                     "--max-queued",
                     "40",
                     "--worker-threads",
                     "3",
                     "--reload-interval",
                     "0",
                     "--check"});
  const auto& r = o.run;
  CHECK(r.plugin_dir == "/p");
  CHECK(r.plugins == std::vector<std::string>{"a", "b", "c"});
  CHECK(r.listen == "127.0.0.1:0");
  CHECK(r.peers == std::map<std::string, std::string>{{"m1", "h1:1"}, {"m2", "h2:2"}, {"m3", "dns:///x:3"}});
  CHECK(r.discovery_template == "{module}.svc:50051");
  CHECK(r.tls.cert == "c.pem");
  CHECK(r.tls.key == "k.pem");
  CHECK(r.tls.ca == "ca.pem");
  CHECK(r.log_level == "debug");
  CHECK(r.log_format == "json");
  CHECK(r.grace_period == 2s);
  CHECK(r.default_deadline == 250ms);
  CHECK(r.keepalive_time == 1min);
  CHECK(r.keepalive_timeout == 1s);
  CHECK(r.keepalive_min_time == 1h);
  CHECK(r.max_message_size == 1u << 20);
  CHECK(r.max_inflight == 7);
  CHECK(r.max_inflight_bytes == 8u << 20);
  CHECK(r.max_queued == 40);
  CHECK(r.worker_threads == 3);
  CHECK(r.reload_interval == 0ms);
  CHECK(r.check_only);
}

TEST_CASE("run: --flow takes several files, repeated flags and commas") {
  const std::vector<std::string> want{"a.yaml", "b.yaml", "c.yaml"};
  CHECK(Parse({"run", "--flow", "a.yaml", "b.yaml", "c.yaml"}).run.flows == want);
  CHECK(Parse({"run", "--flow", "a.yaml", "--flow", "b.yaml", "--flow", "c.yaml"}).run.flows == want);
  CHECK(Parse({"run", "--flow", "a.yaml,b.yaml,,c.yaml"}).run.flows == want);
}

TEST_CASE("run: a unix socket listens where HOST:PORT would") {
  CHECK(Parse({"run", "--flow", "f", "--listen", "unix:/tmp/h.sock"}).run.listen == "unix:/tmp/h.sock");
}

TEST_CASE("ParseDuration: units, fractions, bare seconds") {
  CHECK(ParseDuration("--x", "250ms") == 250ms);
  CHECK(ParseDuration("--x", "10s") == 10s);
  CHECK(ParseDuration("--x", "2m") == 2min);
  CHECK(ParseDuration("--x", "1h") == 1h);
  CHECK(ParseDuration("--x", "1.5s") == 1500ms);
  CHECK(ParseDuration("--x", "7") == 7s);
  CHECK(ParseDuration("--x", "0") == 0ms);
  for (const char* bad : {"", "s", "10x", "-1s", "1.s", "10 s", "ten"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(ParseDuration("--grace-period", bad),
                         ("--grace-period: '" + std::string(bad) + "' is not a duration (e.g. 250ms, 10s, 2m)").c_str(),
                         UsageError);
  }
}

TEST_CASE("sizes: bytes and binary units") {
  auto size = [](const std::string& text) {
    return Parse({"run", "--flow", "f", "--max-message-size", text}).run.max_message_size;
  };
  CHECK(size("4194304") == 4194304u);
  CHECK(size("512B") == 512u);
  CHECK(size("3K") == 3u << 10);
  CHECK(size("3KiB") == 3u << 10);
  CHECK(size("2M") == 2u << 20);
  CHECK(size("10 MiB") == 10u << 20);
  CHECK(size("1G") == 1u << 30);
  CHECK(size("1GiB") == 1u << 30);
  CHECK(Parse({"send", "--address", "h:1", "--to", "a.in", "--max-message-size", "8MiB"}).send.max_message_size ==
        8u << 20);
  for (const char* bad : {"4mb", "MiB", "1.5MiB", "4 TiB", "0x10"}) {
    CAPTURE(bad);
    CHECK(ErrorOf({"run", "--flow", "f", "--max-message-size", bad}) ==
          "--max-message-size: '" + std::string(bad) + "' is not a size (e.g. 4194304, 4MiB)");
  }
}

TEST_CASE("sizes and durations out of range are one error line, whatever their length") {
  CHECK(ErrorOf({"run", "--flow", "f", "--max-message-size", "4GiB"}) ==
        "--max-message-size: '4GiB' is out of range (at most 2147483647 bytes)");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-message-size", "99999999999999999999"}) ==
        "--max-message-size: '99999999999999999999' is out of range (at most 2147483647 bytes)");
  CHECK(Parse({"run", "--flow", "f", "--max-message-size", "2147483647"}).run.max_message_size == 2147483647u);
  CHECK(ErrorOf({"run", "--flow", "f", "--grace-period", "25h"}) == "--grace-period: '25h' is out of range (at most 24h)");
  CHECK(ParseDuration("--x", "24h") == 24h);
  // A value of 100k digits (a std::regex once recursed per character here
  // and overflowed the stack): refused in one pass, shown cut short.
  std::string digits(100000, '7');
  std::string shown = digits.substr(0, 64) + "... (100000 bytes)";
  CHECK(ErrorOf({"run", "--flow", "f", "--max-message-size", digits}) ==
        "--max-message-size: '" + shown + "' is out of range (at most 2147483647 bytes)");
  CHECK(ErrorOf({"run", "--flow", "f", "--default-deadline", digits + "ms"}) ==
        "--default-deadline: '" + digits.substr(0, 64) + "... (100002 bytes)' is out of range (at most 24h)");
  CHECK(ErrorOf({"run", "--flow", "f", "--grace-period", digits + "x"}) ==
        "--grace-period: '" + digits.substr(0, 64) + "... (100001 bytes)' is not a duration (e.g. 250ms, 10s, 2m)");
  std::string long_fraction = "1." + std::string(100000, '5') + "s";
  CHECK(ParseDuration("--x", long_fraction) == 1555ms);
}

TEST_CASE("TINYHOST_* variables fill the flags the command line leaves out") {
  Env env{{"TINYHOST_PLUGIN_DIR", "/env/plugins"}, {"TINYHOST_FLOW", "a.yaml,b.yaml"}, {"TINYHOST_GRACE_PERIOD", "3s"},
          {"TINYHOST_LISTEN", "127.0.0.1:9"},      {"TINYHOST_NO_SUCH_OPTION", "x"},  // not an option: ignored
          {"PLUGIN_DIR", "/not/prefixed"}};
  Options o = Parse({"run"}, env);
  CHECK(o.run.plugin_dir == "/env/plugins");
  CHECK(o.run.flows == std::vector<std::string>{"a.yaml", "b.yaml"});
  CHECK(o.run.grace_period == 3s);
  CHECK(o.run.listen == "127.0.0.1:9");  // a variable beats a default

  SUBCASE("the command line beats a variable") {
    Options c = Parse({"run", "--plugin-dir", "/cli", "--listen", "127.0.0.1:1", "--flow", "c.yaml"}, env);
    CHECK(c.run.plugin_dir == "/cli");
    CHECK(c.run.listen == "127.0.0.1:1");
    CHECK(c.run.flows == std::vector<std::string>{"c.yaml"});
  }
  SUBCASE("send reads its own variables, and a bad value names the flag") {
    Env send_env{{"TINYHOST_ADDRESS", "h:7"}, {"TINYHOST_TO", "a.in"}, {"TINYHOST_TIMEOUT", "5x"}};
    CHECK(ErrorOf({"send"}, send_env) == "--timeout: '5x' is not a duration (e.g. 250ms, 10s, 2m)");
    send_env.erase("TINYHOST_TIMEOUT");
    Options s = Parse({"send"}, send_env);
    CHECK(s.send.address == "h:7");
    CHECK(s.send.to == "a.in");
  }
}

TEST_CASE("--config: key = value lines, below the command line and the environment") {
  TempDir dir;
  std::string config = dir.Write("host.conf",
                                 "# a comment\n"
                                 "plugin-dir = /conf/plugins\n"
                                 "flow = conf.yaml\n"
                                 "listen = 127.0.0.1:5\n"
                                 "grace-period = 4s\n"
                                 "max-inflight-bytes = 64MiB\n"
                                 "max-queued = 500\n");
  Options o = Parse({"run", "--config", config, "--listen", "127.0.0.1:6"}, {{"TINYHOST_GRACE_PERIOD", "8s"}});
  CHECK(o.run.plugin_dir == "/conf/plugins");
  CHECK(o.run.max_inflight_bytes == 64u << 20);
  CHECK(o.run.max_queued == 500);
  CHECK(o.run.flows == std::vector<std::string>{"conf.yaml"});
  CHECK(o.run.listen == "127.0.0.1:6");
  CHECK(o.run.grace_period == 8s);

  SUBCASE("TINYHOST_CONFIG names it too") {
    CHECK(Parse({"run"}, {{"TINYHOST_CONFIG", config}}).run.flows == std::vector<std::string>{"conf.yaml"});
  }
  SUBCASE("a missing file") {
    std::string missing = dir.File("missing.conf");
    CHECK(ErrorOf({"run", "--flow", "f", "--config", missing}) == "--config: cannot read '" + missing + "'");
  }
  SUBCASE("an unknown key is an error naming it") {
    std::string bad = dir.Write("bad.conf", "flow = a.yaml\nbogus-key = 1\n");
    CHECK(Contains(ErrorOf({"run", "--config", bad}), "bogus-key"));
  }
  SUBCASE("a key or value that spells a Boost placeholder") {
    std::string bad = dir.Write("pct.conf", "flow = a.yaml\nmax-queued = %value%\n");
    CHECK(Contains(ErrorOf({"run", "--config", bad}), "%25value%25"));
    std::string key = dir.Write("pctkey.conf", "flow = a.yaml\n%canonical_option% = 1\n");
    CHECK(Contains(ErrorOf({"run", "--config", key}), "%25canonical_option%25"));
  }
}

TEST_CASE("run: each usage error is one line naming the input") {
  CHECK(ErrorOf({"run"}) == "run: at least one --flow FILE is required");
  CHECK(ErrorOf({"run", "--flow", "f", "--listen", "nowhere"}) == "--listen: 'nowhere' is not HOST:PORT");
  CHECK(ErrorOf({"run", "--flow", "f", "--listen", ":80"}) == "--listen: ':80' is not HOST:PORT");
  CHECK(ErrorOf({"run", "--flow", "f", "--listen", "h:"}) == "--listen: 'h:' is not HOST:PORT");
  CHECK(ErrorOf({"run", "--flow", "f", "--listen", "unix:"}) == "--listen: 'unix:' is not HOST:PORT");
  CHECK(ErrorOf({"run", "--flow", "f", "--listen", "h:99999"}) == "--listen: 'h:99999' has an invalid port");
  CHECK(ErrorOf({"run", "--flow", "f", "--listen", "h:8o"}) == "--listen: 'h:8o' has an invalid port");
  for (const char* peer : {"nomodule", "Bad_Name=h:1", "m="}) {
    CAPTURE(peer);
    CHECK(ErrorOf({"run", "--flow", "f", "--peer", peer}) ==
          "--peer: '" + std::string(peer) + "' is not MODULE=HOST:PORT");
  }
  CHECK(ErrorOf({"run", "--flow", "f", "--discovery-template", "dns:///x:1"}) ==
        "--discovery-template: 'dns:///x:1' has no {module} placeholder");
  CHECK(ErrorOf({"run", "--flow", "f", "--tls-cert", "c.pem"}) == "--tls-cert and --tls-key go together");
  CHECK(ErrorOf({"run", "--flow", "f", "--tls-key", "k.pem"}) == "--tls-cert and --tls-key go together");
  CHECK(ErrorOf({"run", "--flow", "f", "--tls-ca", "ca.pem"}) == "--tls-cert and --tls-key go together");
  CHECK(ErrorOf({"run", "--flow", "f", "--default-deadline", "0s"}) == "--default-deadline must be positive");
  CHECK(ErrorOf({"run", "--flow", "f", "--worker-threads", "0"}) == "--worker-threads: 0 is out of range (1..1024)");
  CHECK(ErrorOf({"run", "--flow", "f", "--worker-threads", "5000"}) ==
        "--worker-threads: 5000 is out of range (1..1024)");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-inflight", "0"}) == "--max-inflight: 0 is out of range (1..1000000)");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-queued", "0"}) == "--max-queued: 0 is out of range (1..1000000)");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-queued", "1000001"}) ==
        "--max-queued: 1000001 is out of range (1..1000000)");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-inflight-bytes", "0"}) == "--max-inflight-bytes must be positive");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-inflight-bytes", "2048GiB"}) ==
        "--max-inflight-bytes: '2048GiB' is out of range (at most 1099511627776 bytes)");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-inflight-bytes", "lots"}) ==
        "--max-inflight-bytes: 'lots' is not a size (e.g. 4194304, 4MiB)");
  CHECK(Parse({"run", "--flow", "f", "--max-inflight-bytes", "1024GiB"}).run.max_inflight_bytes == size_t{1} << 40);
  CHECK(ErrorOf({"run", "--flow", "f", "--max-fanout", "0"}) == "--max-fanout: 0 is out of range (1..4294967296)");
  CHECK(Parse({"run", "--flow", "f"}).run.max_fanout == 65536u);
  CHECK(Parse({"run", "--flow", "f", "--max-fanout", "100"}).run.max_fanout == 100u);
  CHECK(ErrorOf({"run", "--flow", "f", "--log-level", "loud"}) ==
        "--log-level: unknown level 'loud' (trace, debug, info, warn, error, off)");
  CHECK(ErrorOf({"run", "--flow", "f", "--log-format", "xml"}) == "--log-format: unknown format 'xml' (text, json)");
  CHECK(ErrorOf({"run", "--flow", "f", "--keepalive-time", "soon"}) ==
        "--keepalive-time: 'soon' is not a duration (e.g. 250ms, 10s, 2m)");
  CHECK(ErrorOf({"run", "--flow", "f", "--check", "stray"}) == "unexpected argument 'stray'");
  CHECK(Contains(ErrorOf({"run", "--flow", "f", "--bogus-flag", "1"}), "bogus-flag"));
  CHECK(Contains(ErrorOf({"run", "--flow", "f", "--worker-threads", "many"}), "worker-threads"));
  // No guessing: a prefix of a flag is not that flag.
  CHECK(Contains(ErrorOf({"run", "--flow", "f", "--plugin-d", "/p"}), "plugin-d"));
}

// Boost fills its error template by replacing %placeholders% in a loop that
// never ended when the user's text held the placeholder itself: each of these
// hung the host (found by options_fuzzer).
TEST_CASE("run: an argument that spells a Boost placeholder gets an error, not a hang") {
  CHECK(ErrorOf({"run", "--flow", "f", "-%canonical_option%"}) == "unrecognised option '-%25canonical_option%25'");
  CHECK(ErrorOf({"run", "--flow", "f", "--%option%=1"}) == "unrecognised option '--%25option%25=1'");
  CHECK(ErrorOf({"run", "--flow", "f", "--max-queued", "%value%"}) ==
        "the argument ('%25value%25') for option '--max-queued' is invalid");
  CHECK(Contains(ErrorOf({"run", "--flow", "f", "--worker-threads", "%canonical_option%%value%%prefix%"}),
                 "'--worker-threads'"));
  CHECK(Contains(ErrorOf({"run", "--flow", "f"}, {{"TINYHOST_MAX_QUEUED", "%value%"}}), "%25value%25"));
}

TEST_CASE("send: fields, @FILE data, metadata, and its usage errors") {
  TempDir dir;
  std::string data_file = dir.Write("data.json", R"({"from":"file"})");
  Options o = Parse({"send", "--address", "h:1", "--to", "a.in", "--data", "@" + data_file, "--timeout", "5s",
                     "--metadata", "k=v", "--metadata", "empty=", "--tls-ca", "ca.pem"});
  CHECK(o.command == Command::kSend);
  CHECK(o.send.address == "h:1");
  CHECK(o.send.to == "a.in");
  CHECK(o.send.data == R"({"from":"file"})");
  CHECK(o.send.timeout == 5s);
  CHECK(o.send.metadata == std::map<std::string, std::string>{{"k", "v"}, {"empty", ""}});
  CHECK(o.send.tls.ca == "ca.pem");
  CHECK(Parse({"send", "--address", "h:1", "--to", "a.in", "--data", "{}"}).send.data == "{}");
  CHECK(Parse({"send", "--address", "h:1", "--to", "a.in"}).send.timeout == 30s);

  CHECK(ErrorOf({"send", "--to", "a.in"}) == "send: --address HOST:PORT is required");
  CHECK(ErrorOf({"send", "--address", "h:1"}) == "send: --to NODE.PORT is required");
  CHECK(ErrorOf({"send", "--address", "h:1", "--to", "no-port-here"}) == "--to: 'no-port-here' is not NODE.PORT");
  CHECK(ErrorOf({"send", "--address", "h:1", "--to", "a.b.c"}) == "--to: 'a.b.c' is not NODE.PORT");
  std::string missing = dir.File("missing.json");
  CHECK(ErrorOf({"send", "--address", "h:1", "--to", "a.in", "--data", "@" + missing}) ==
        "--data: cannot read '" + missing + "'");
  CHECK(ErrorOf({"send", "--address", "h:1", "--to", "a.in", "--metadata", "kv"}) ==
        "--metadata: 'kv' is not KEY=VALUE");
  CHECK(ErrorOf({"send", "--address", "h:1", "--to", "a.in", "--metadata", "=v"}) ==
        "--metadata: '=v' is not KEY=VALUE");
  CHECK(ErrorOf({"send", "--address", "h:1", "--to", "a.in", R"({"x":1})"}) == R"(unexpected argument '{"x":1}')");
}

TEST_CASE("send: load flags, their defaults and their usage errors") {
  const std::vector<std::string> base{"send", "--address", "h:1", "--to", "a.in"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  SUBCASE("no load flag: one call, as before") {
    Options o = Parse(base);
    CHECK_FALSE(o.send.load);
  }
  SUBCASE("each load flag turns the load run on") {
    Options o = Parse(with({"--count", "100000", "--concurrency", "64"}));
    CHECK(o.send.load);
    CHECK(o.send.count == 100000);
    CHECK(o.send.concurrency == 64);
    CHECK(o.send.duration.count() == 0);
    CHECK(o.send.rate == 0);
    CHECK_FALSE(o.send.json);
    // --concurrency alone: one call unless told more.
    CHECK(Parse(with({"--concurrency", "8"})).send.count == 1);
    // --json alone is a load run of one call with a report.
    Options j = Parse(with({"--json"}));
    CHECK(j.send.load);
    CHECK(j.send.json);
    CHECK(j.send.count == 1);
    CHECK(j.send.concurrency == 1);
  }
  SUBCASE("--duration without --count has no count limit; with it, both apply") {
    Options d = Parse(with({"--duration", "2s"}));
    CHECK(d.send.load);
    CHECK(d.send.count == 0);
    CHECK(d.send.duration == 2s);
    Options both = Parse(with({"--duration", "250ms", "--count", "7", "--rate", "12.5"}));
    CHECK(both.send.count == 7);
    CHECK(both.send.duration == 250ms);
    CHECK(both.send.rate == doctest::Approx(12.5));
  }
  SUBCASE("bad values name the flag") {
    CHECK(ErrorOf(with({"--count", "0"})) == "--count: '0' is out of range (1..1000000000000)");
    CHECK(ErrorOf(with({"--count", "-5"})) == "--count: '-5' is not a whole number");
    CHECK(ErrorOf(with({"--count", "1.5"})) == "--count: '1.5' is not a whole number");
    CHECK(ErrorOf(with({"--count", "10k"})) == "--count: '10k' is not a whole number");
    CHECK(ErrorOf(with({"--count", std::string(100000, '9')})).find("is out of range (1..1000000000000)") !=
          std::string::npos);
    CHECK(ErrorOf(with({"--concurrency", "10001"})) == "--concurrency: '10001' is out of range (1..10000)");
    CHECK(ErrorOf(with({"--concurrency", "many"})) == "--concurrency: 'many' is not a whole number");
    CHECK(ErrorOf(with({"--rate", "0"})) == "--rate: '0' is out of range (more than 0, at most 10000000)");
    CHECK(ErrorOf(with({"--rate", "fast"})) == "--rate: 'fast' is not a number of calls per second");
    CHECK(ErrorOf(with({"--rate", "20000000"})) == "--rate: '20000000' is out of range (more than 0, at most 10000000)");
    CHECK(ErrorOf(with({"--duration", "0s"})) == "--duration: must be more than 0");
    CHECK(ErrorOf(with({"--duration", "soon"})) == "--duration: 'soon' is not a duration (e.g. 250ms, 10s, 2m)");
  }
  SUBCASE("@FILE data: a trailing newline is dropped, a file over --max-message-size is refused") {
    TempDir dir;
    std::string f = dir.Write("msg.json", "{\"a\":1}\n");
    CHECK(Parse(with({"--data", "@" + f})).send.data == R"({"a":1})");
    std::string big = dir.Write("big.json", std::string(2000, ' '));
    CHECK(ErrorOf(with({"--data", "@" + big, "--max-message-size", "1KiB"})) ==
          "--data: '" + big + "' is larger than --max-message-size (1024 bytes)");
  }
}

TEST_CASE("inspect: one positional target, the default plugin dir") {
  Options o = Parse({"inspect", "common-module"});
  CHECK(o.command == Command::kInspect);
  CHECK(o.inspect.target == "common-module");
  CHECK(o.inspect.plugin_dir == tiny::host::DefaultPluginDir());
  CHECK(Parse({"inspect", "x.so", "--plugin-dir", "/p"}).inspect.plugin_dir == "/p");
  CHECK(ErrorOf({"inspect"}) == "inspect: name a PLUGIN.so file or a MODULE");
}

TEST_CASE("graph: flows as arguments, --format, the plugin dir") {
  Options o = Parse({"graph", "a.yaml", "b.yaml,c.yaml"});
  CHECK(o.command == Command::kGraph);
  CHECK(o.graph.flows == std::vector<std::string>{"a.yaml", "b.yaml", "c.yaml"});
  CHECK(o.graph.format == "dot");
  CHECK(o.graph.plugin_dir == tiny::host::DefaultPluginDir());
  CHECK_FALSE(o.graph.plugin_dir_given);
  CHECK_FALSE(o.graph.no_plugins);
  CHECK(o.graph.plugins.empty());

  o = Parse({"graph", "--format", "svg", "--plugin-dir", "/p", "--plugin", "x,y", "a.yaml", "--flow", "b.yaml"});
  CHECK(o.graph.format == "svg");
  CHECK(o.graph.plugin_dir == "/p");
  CHECK(o.graph.plugin_dir_given);
  CHECK(o.graph.plugins == std::vector<std::string>{"x", "y"});
  CHECK(o.graph.flows.size() == 2);
  CHECK(Parse({"graph", "a.yaml", "--no-plugins"}).graph.no_plugins);
  // The environment, as for run: TINYHOST_PLUGIN_DIR counts as given.
  o = Parse({"graph", "a.yaml"}, {{"TINYHOST_PLUGIN_DIR", "/env"}});
  CHECK(o.graph.plugin_dir == "/env");
  CHECK(o.graph.plugin_dir_given);

  CHECK(ErrorOf({"graph"}) == "graph: name at least one FLOW file");
  CHECK(ErrorOf({"graph", "a.yaml", "--format", "x"}) == "--format: unknown format 'x' (dot, svg)");
  CHECK(ErrorOf({"graph", "a.yaml", "--format", std::string(100, 'p')}).find("... (100 bytes)") != std::string::npos);
  CHECK(ErrorOf({"graph", "a.yaml", "--no-plugins", "--plugin", "x"}) ==
        "--no-plugins: no --plugin-dir or --plugin goes with it");
  CHECK(ErrorOf({"graph", "a.yaml", "--listen", "h:1"}).find("listen") != std::string::npos);
}

TEST_CASE("the command word: help, version, missing, unknown") {
  for (const char* help : {"--help", "-h", "help"}) CHECK(Parse({help}).command == Command::kHelp);
  CHECK(Parse({"run", "--flow", "f", "--help"}).command == Command::kHelp);
  CHECK(Parse({"send", "-h"}).command == Command::kHelp);
  for (const char* version : {"--version", "version"}) CHECK(Parse({version}).command == Command::kVersion);
  Options help = Parse({"--help"});
  CHECK(Contains(help.help_text, "usage: tinyhost run"));
  CHECK(Contains(help.help_text, "--plugin-dir"));
  CHECK(Contains(help.help_text, "TINYHOST_"));
  CHECK(Contains(help.help_text, "tinyhost graph FLOW..."));
  CHECK(Contains(help.help_text, "--format"));
  CHECK(ErrorOf({}) == "missing command (run, send, inspect, graph)");
  CHECK(ErrorOf({"frobnicate"}) == "unknown command 'frobnicate' (run, send, inspect, graph)");
}

TEST_CASE("a control character in an argument is shown escaped, so the error stays one line (fuzzer find)") {
  CHECK(ErrorOf({"send\n\x01run"}).find("send\\n\\x01run") != std::string::npos);
  CHECK(ErrorOf({"run", "--flow", "f", "--grace-period", "1\rs"}) ==
        "--grace-period: '1\\x0ds' is not a duration (e.g. 250ms, 10s, 2m)");
}
