#include <set>

#include "test_support.h"

using namespace tiny::test;

TEST_CASE("module: the entry lists every common-module component once, with valid ports and settings") {
  CHECK(tiny_plugin_entry.abi.major == TINY_ABI_VERSION_MAJOR);
  CHECK(std::string(tiny_plugin_entry.module_name) == "common-module");
  // get_component is only valid after init; a harness runs it.
  Harness h(tiny_plugin_entry, "debug");
  std::set<std::string> names;
  for (uint32_t i = 0; i < tiny_plugin_entry.component_count(); ++i) {
    const tiny_component* c = tiny_plugin_entry.get_component(i);
    REQUIRE(c != nullptr);
    names.insert(c->name);
    CHECK(c->port_count > 0);
    for (uint32_t p = 0; p < c->port_count; ++p) {
      std::string port = c->ports[p].name;
      CHECK_MESSAGE(port.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_*") == std::string::npos, port);
    }
    Json defaults = Json::parse(c->default_settings_json);
    CHECK(defaults.is_object());
  }
  CHECK(names == std::set<std::string>{"router", "debug", "delay", "ticker", "signal", "transform", "inject",
                                       "array_split", "collect", "array_get", "group_by", "kv", "async", "cron",
                                       "retry"});
  CHECK(tiny_plugin_entry.component_count() == names.size());
}

TEST_CASE("module: every component takes its default settings") {
  const char* components[] = {"router", "debug", "delay", "ticker", "signal", "transform", "inject", "array_split",
                              "collect", "array_get", "group_by", "kv", "async", "cron", "retry"};
  for (const char* name : components) {
    Harness h(tiny_plugin_entry, name);
    CHECK_MESSAGE(h.configure().ok(), name);
  }
}
