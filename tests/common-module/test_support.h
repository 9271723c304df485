// Shared by the common-module tests: the module entry (defined by
// module.cpp, compiled into the test binary) and small helpers.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tiny/testing.hpp>

extern "C" const tiny_entry tiny_plugin_entry;

namespace tiny::test {

using tiny::Json;
using tiny::Result;
using tiny::testing::Emitted;
using tiny::testing::Harness;

// The ports of all emits so far, in order.
inline std::vector<std::string> ports(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& e : h.emitted()) out.push_back(e.port);
  return out;
}

// Runs `fn(thread_index)` on `threads` threads at once and joins them.
inline void run_threads(int threads, const std::function<void(int)>& fn) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(fn, t);
  for (auto& th : pool) th.join();
}

// The error text of a result that must be a component error.
inline std::string error_of(const std::optional<Result>& r) {
  REQUIRE(r.has_value());
  CHECK(r->status == TINY_STATUS_OK);
  CHECK_FALSE(r->error.empty());
  return r->error;
}

// The error a new node of `component` answers to `settings` (a node gets
// its settings once, so each check needs its own). No other Harness may
// live meanwhile.
inline std::string settings_error(std::string_view component, const Json& settings) {
  Harness h(tiny_plugin_entry, component);
  return h.configure(settings).error;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace tiny::test
