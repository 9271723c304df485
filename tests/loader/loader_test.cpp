// LoadPlugin and friends against the fixture plugins of tests/fixtures:
// the good one loads and works through its descriptor; each broken one is
// refused with a one-line PluginLoadError naming the file and the reason.
#include "host/loader/plugin_loader.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/runtime/call.h"
#include "host/runtime/host_api.h"
#include "host/loader/module_registry.h"
#include "host/loader/plugin_set.h"
#include "support/host_test_support.h"
#include "support/temp_dir.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name the directory the fixture plugins are built into"
#endif

namespace {

namespace fs = std::filesystem;
using tiny::host::HostApi;
using tiny::host::LoadPlugin;
using tiny::host::LoadPluginSet;
using tiny::host::ModuleRegistry;
using tiny::host::Plugin;
using tiny::host::PluginLoadError;
using tiny::test::Answer;
using tiny::test::RecordingCall;
using tiny::test::TempDir;

std::string Fixture(const std::string& case_dir, const std::string& name) {
  return std::string(FIXTURE_DIR) + "/" + case_dir + "/" + name + ".so";
}
std::string Fixture(const std::string& name) { return Fixture(name, name); }

std::string Version(uint32_t major, uint32_t minor) { return std::to_string(major) + "." + std::to_string(minor); }
const std::string kHostAbi = Version(TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR);

// Loads `path`, which must fail; checks the error's shape and returns it.
PluginLoadError ExpectLoadError(const std::string& path) {
  REQUIRE_MESSAGE(fs::exists(path), "fixture not built: " << path);
  try {
    auto plugin = LoadPlugin(path, HostApi());
    FAIL("LoadPlugin accepted " << path << " (module " << plugin->module << ")");
  } catch (const PluginLoadError& e) {
    std::string what = e.what();
    INFO("what(): " << what);
    CHECK(what.find('\n') == std::string::npos);  // one line
    CHECK(e.file() == path);
    CHECK(what == "plugin " + path + ": " + e.reason());
    return e;
  }
  throw std::logic_error("unreachable");
}

// Holds one reference to a RecordingCall (the component holds the answer's).
struct CallRef {
  RecordingCall* call = new RecordingCall();
  CallRef() { call->Ref(); }
  // What the component completed the call with so far (it answers on the test's thread).
  std::optional<Answer> answer() const {
    std::lock_guard<std::mutex> lock(call->state->mu);
    return call->state->answer;
  }
  ~CallRef() {
    if (!call->completed()) tiny::host::FailCall(call, TINY_STATUS_CANCELLED, "test over");
    call->Unref();
  }
  CallRef(const CallRef&) = delete;
  CallRef& operator=(const CallRef&) = delete;
};

tiny_bytes Bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

}  // namespace

TEST_CASE("the good fixture loads: module, version, components and ports parsed") {
  const std::string path = Fixture("no_op");
  REQUIRE_MESSAGE(fs::exists(path), "fixture not built: " << path);
  std::unique_ptr<Plugin> plugin = LoadPlugin(path, HostApi());
  REQUIRE(plugin);
  CHECK(plugin->file == path);
  CHECK(plugin->module == "no-op-module");
  CHECK(plugin->version == "0.0.1");
  CHECK(plugin->initialised);
  CHECK(plugin->entry->abi.major == TINY_ABI_VERSION_MAJOR);
  CHECK(plugin->entry->abi.minor == TINY_ABI_VERSION_MINOR);

  REQUIRE(plugin->components.size() == 1);
  const auto& noop = plugin->components[0];
  CHECK(noop.name == "noop");
  CHECK(noop.module == "no-op-module");
  CHECK_FALSE(noop.blocking);
  CHECK(noop.default_settings == R"({"verbose":false})");  // parsed and re-serialised
  REQUIRE(noop.desc != nullptr);
  CHECK(noop.desc->port_count == 2);
  CHECK(noop.HasInput("in"));
  CHECK(noop.HasOutput("out"));
  CHECK_FALSE(noop.HasInput("out"));
  CHECK_FALSE(noop.HasOutput("in"));
  CHECK_FALSE(noop.HasInput("nope"));
  CHECK(plugin->FindComponent("noop") == &noop);
  CHECK(plugin->FindComponent("nope") == nullptr);

  SUBCASE("its component answers empty through the host table") {
    tiny_instance* instance = noop.desc->create(HostApi(), nullptr);
    REQUIRE(instance != nullptr);
    for (const char* port : {"_settings", "in"}) {
      CAPTURE(port);
      CallRef ref;
      noop.desc->handle(instance, ref.call, port, Bytes(R"({"x":1})"));
      auto answer = ref.answer();
      REQUIRE(answer.has_value());
      CHECK(answer->status == TINY_STATUS_OK);
      CHECK(answer->data.empty());
      CHECK(answer->error.empty());
    }
    noop.desc->destroy(instance);
  }
  plugin->Deinit();
  CHECK_FALSE(plugin->initialised);
}

TEST_CASE("a shared object without tiny_plugin_entry is refused") {
  auto e = ExpectLoadError(Fixture("no_entry"));
  CHECK(e.reason() == "no 'tiny_plugin_entry' symbol: not a tinyhost plugin");
}

TEST_CASE("a plugin of another ABI major version is refused, naming both versions") {
  auto e = ExpectLoadError(Fixture("abi_major_mismatch"));
  CHECK(e.reason() == "ABI major version mismatch: plugin 2.0, host " + kHostAbi);
  if (kHostAbi == "1.0") CHECK(e.reason() == "ABI major version mismatch: plugin 2.0, host 1.0");
}

TEST_CASE("a plugin built for a newer ABI minor version is refused") {
  auto e = ExpectLoadError(Fixture("newer_minor"));
  const std::string plugin_abi = Version(TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR + 1);
  CHECK(e.reason() == "plugin needs a newer host: plugin ABI " + plugin_abi + ", host " + kHostAbi);
}

TEST_CASE("a plugin whose init fails is refused with init's message") {
  auto e = ExpectLoadError(Fixture("init_fails"));
  CHECK(e.reason() == "init failed: database not reachable");
}

TEST_CASE("a file that is not a shared object is refused, not crashed on") {
  auto e = ExpectLoadError(Fixture("not_elf"));
  CHECK(e.reason().rfind("cannot load shared object: ", 0) == 0);
  CHECK(e.reason().size() > std::string("cannot load shared object: ").size());  // dlerror's detail
}

TEST_CASE("a missing file is refused") {
  const std::string path = std::string(FIXTURE_DIR) + "/no_such_dir/no_such_plugin.so";
  try {
    LoadPlugin(path, HostApi());
    FAIL("LoadPlugin accepted a missing file");
  } catch (const PluginLoadError& e) {
    CHECK(e.file() == path);
    CHECK(e.reason().rfind("cannot load shared object: ", 0) == 0);
  }
}

TEST_CASE("two plugins of one module: the registry refuses the second, naming both files") {
  const std::string a = Fixture("dup", "dup_a"), b = Fixture("dup", "dup_b");
  REQUIRE(fs::exists(a));
  REQUIRE(fs::exists(b));
  auto pa = LoadPlugin(a, HostApi());
  auto pb = LoadPlugin(b, HostApi());  // each one is valid on its own
  CHECK(pa->module == "dup-module");
  CHECK(pb->module == "dup-module");
  CHECK(pa->version == "0.0.1");
  CHECK(pb->version == "0.0.2");

  ModuleRegistry registry;
  registry.Add(std::move(pa), true);
  try {
    registry.Add(std::move(pb), true);
    FAIL("the registry accepted a second dup-module");
  } catch (const PluginLoadError& e) {
    std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    CHECK(e.file() == b);
    CHECK(e.reason() == "module 'dup-module' is already provided by " + a);
    CHECK(what.find(a) != std::string::npos);
    CHECK(what.find(b) != std::string::npos);
  }
  // The first one stays registered and served.
  REQUIRE(registry.Find("dup-module") != nullptr);
  CHECK(registry.Find("dup-module")->file == a);
  CHECK(registry.Serves("dup-module"));
  CHECK(registry.KnownModules() == std::vector<std::string>{"dup-module"});
  registry.DeinitAll();
}

TEST_CASE("the throwing fixture loads, and its exception really escapes handle") {
  // The end-to-end check (the host answers INTERNAL and keeps serving) is
  // in cli_test.py; this proves the fixture does what that test relies on.
  auto plugin = LoadPlugin(Fixture("throws"), HostApi());
  CHECK(plugin->module == "throws-module");
  const auto* thrower = plugin->FindComponent("thrower");
  REQUIRE(thrower != nullptr);
  CHECK(thrower->HasInput("in"));
  tiny_instance* instance = thrower->desc->create(HostApi(), nullptr);
  REQUIRE(instance != nullptr);
  {
    CallRef settings;
    thrower->desc->handle(instance, settings.call, "_settings", Bytes("{}"));
    auto answer = settings.answer();
    REQUIRE(answer.has_value());
    CHECK(answer->status == TINY_STATUS_OK);
  }
  {
    CallRef call;
    CHECK_THROWS_WITH_AS(thrower->desc->handle(instance, call.call, "in", Bytes("{}")), "thrower always throws",
                         std::runtime_error);
    CHECK_FALSE(call.answer().has_value());  // left open: the host must answer it
  }
  thrower->desc->destroy(instance);
  plugin->Deinit();
}

TEST_CASE("ListPluginFiles lists the .so files of a directory, sorted") {
  auto files = tiny::host::ListPluginFiles(std::string(FIXTURE_DIR) + "/dup");
  CHECK(files == std::vector<std::string>{Fixture("dup", "dup_a"), Fixture("dup", "dup_b")});
  const std::string missing = std::string(FIXTURE_DIR) + "/no_such_dir";
  try {
    tiny::host::ListPluginFiles(missing);
    FAIL("ListPluginFiles accepted a missing directory");
  } catch (const PluginLoadError& e) {
    CHECK(e.file() == missing);
    CHECK(e.reason().rfind("cannot read plugin directory: ", 0) == 0);
  }
}

TEST_CASE("LoadPluginSet: a failing plugin is fatal when selected, skipped when not") {
  TempDir dir;
  const std::string good = dir.Copy(Fixture("no_op"));
  const std::string bad = dir.Copy(Fixture("init_fails"));
  const std::string d = dir.path().string();

  SUBCASE("no --plugin selects everything, so the failure is fatal") {
    ModuleRegistry registry;
    try {
      LoadPluginSet(d, {}, HostApi(), registry);
      FAIL("LoadPluginSet accepted a failing plugin");
    } catch (const PluginLoadError& e) {
      CHECK(e.file() == bad);
      CHECK(e.reason() == "init failed: database not reachable");
    }
    registry.DeinitAll();
  }
  SUBCASE("selected by file stem: fatal") {
    ModuleRegistry registry;
    CHECK_THROWS_WITH_AS(LoadPluginSet(d, {"init_fails"}, HostApi(), registry),
                         ("plugin " + bad + ": init failed: database not reachable").c_str(), PluginLoadError);
    registry.DeinitAll();
  }
  SUBCASE("not selected: skipped, the selected one is served") {
    ModuleRegistry registry;
    LoadPluginSet(d, {"no-op-module"}, HostApi(), registry);
    CHECK(registry.Serves("no-op-module"));
    REQUIRE(registry.Find("no-op-module") != nullptr);
    CHECK(registry.Find("no-op-module")->file == good);
    CHECK(registry.Find("init-fails-module") == nullptr);
    CHECK(registry.KnownModules() == std::vector<std::string>{"no-op-module"});
    registry.DeinitAll();
  }
  SUBCASE("a selection naming nothing is fatal") {
    ModuleRegistry registry;
    try {
      LoadPluginSet(d, {"no-op-module", "nosuch"}, HostApi(), registry);
      FAIL("LoadPluginSet accepted --plugin nosuch");
    } catch (const PluginLoadError& e) {
      CHECK(e.file() == "nosuch");
      // The unselected plugin that failed is named, in case it was the one meant.
      CHECK(e.reason() == "no such plugin or module in " + d +
                              " (not loaded: init_fails.so: init failed: database not reachable)");
    }
    registry.DeinitAll();
  }
}

TEST_CASE("LoadPluginSet on the dup fixture dir refuses the second module") {
  ModuleRegistry registry;
  const std::string a = Fixture("dup", "dup_a"), b = Fixture("dup", "dup_b");
  CHECK_THROWS_WITH_AS(LoadPluginSet(std::string(FIXTURE_DIR) + "/dup", {}, HostApi(), registry),
                       ("plugin " + b + ": module 'dup-module' is already provided by " + a).c_str(),
                       PluginLoadError);
  registry.DeinitAll();
}

TEST_CASE("~ModuleRegistry deinitialises its plugins") {
  const std::string path = Fixture("no_op");
  {
    ModuleRegistry registry;
    registry.Add(LoadPlugin(path, HostApi()), true);
    // While it is initialised, the same library cannot be loaded again.
    CHECK_THROWS_AS(LoadPlugin(path, HostApi()), PluginLoadError);
  }
  // Its deinit ran with the registry: the library may be initialised again.
  auto again = LoadPlugin(path, HostApi());
  CHECK(again->initialised);
  again->Deinit();
}
