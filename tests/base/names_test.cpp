#include "host/base/names.h"

#include <doctest/doctest.h>

#include <string>

using namespace tiny::host;

TEST_CASE("DNS labels") {
  CHECK(IsDnsLabel("a"));
  CHECK(IsDnsLabel("greet-server"));
  CHECK(IsDnsLabel("a1-b2"));
  CHECK(IsDnsLabel(std::string(63, 'x')));
  CHECK_FALSE(IsDnsLabel(std::string(64, 'x')));
  CHECK_FALSE(IsDnsLabel(""));
  CHECK_FALSE(IsDnsLabel("-a"));
  CHECK_FALSE(IsDnsLabel("a-"));
  CHECK_FALSE(IsDnsLabel("A"));
  CHECK_FALSE(IsDnsLabel("a_b"));
  CHECK_FALSE(IsDnsLabel("a.b"));
}

TEST_CASE("port names") {
  CHECK(IsPortName("in"));
  CHECK(IsPortName("_settings"));
  CHECK(IsPortName("out_ok2"));
  CHECK_FALSE(IsPortName(""));
  CHECK_FALSE(IsPortName("Out"));
  CHECK_FALSE(IsPortName("a-b"));
}

TEST_CASE("addresses are node.port with exactly one dot") {
  auto a = SplitAddress("greeter.in");
  REQUIRE(a);
  CHECK(a->first == "greeter");
  CHECK(a->second == "in");
  CHECK_FALSE(SplitAddress("greeter"));
  CHECK_FALSE(SplitAddress("a.b.c"));
  CHECK_FALSE(SplitAddress(".in"));
  CHECK_FALSE(SplitAddress("a."));
  CHECK_FALSE(SplitAddress("Bad.in"));
}

TEST_CASE("port families") {
  CHECK(PortMatches("out_*", "out_ok"));
  CHECK(PortMatches("out", "out"));
  CHECK_FALSE(PortMatches("out_*", "out_"));
  CHECK_FALSE(PortMatches("out_*", "out"));
  CHECK_FALSE(PortMatches("out_*", "out_A"));
  CHECK_FALSE(PortMatches("in", "out"));
}
