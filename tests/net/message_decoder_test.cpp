// DecodeSend and CheckJsonText: what an inbound Send must be before
// anything is delivered, and the INVALID_ARGUMENT line for what it is not.
#include "host/net/message_decoder.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace {

using tiny::host::CheckJsonText;
using tiny::host::DecodeSend;
using tiny::host::IsJsonText;
using tiny::host::JsonCheckCapacity;
using tinysystems::module::v1::Message;

Message Make(const std::string& to, const std::string& data = "{}") {
  Message m;
  m.set_to(to);
  m.set_from("test");
  m.set_data(data);
  return m;
}

}  // namespace

TEST_CASE("a good message: node and port are views into it, no metadata, hop 0") {
  Message m = Make("greet-server.response", R"({"statusCode":200})");
  auto d = DecodeSend(m);
  REQUIRE(d.ok);
  CHECK(d.error.empty());
  CHECK(d.node == "greet-server");
  CHECK(d.port == "response");
  CHECK(d.node.data() == m.to().data());  // a view, not a copy
  CHECK(d.hop == 0);
  CHECK(d.metadata == nullptr);
}

TEST_CASE("empty data counts as no data, and system ports are addressable") {
  Message m = Make("n1._settings", "");  // the views in d point into m
  auto d = DecodeSend(m);
  REQUIRE(d.ok);
  CHECK(d.port == "_settings");
}

TEST_CASE("metadata: hop is read, the rest passes through") {
  Message m = Make("a.in");
  (*m.mutable_metadata())["hop"] = "17";
  (*m.mutable_metadata())["tenant"] = "acme";
  auto d = DecodeSend(m);
  REQUIRE(d.ok);
  CHECK(d.hop == 17);
  REQUIRE(d.metadata != nullptr);
  CHECK(*d.metadata == std::map<std::string, std::string>{{"tenant", "acme"}});

  Message only_hop = Make("a.in");
  (*only_hop.mutable_metadata())["hop"] = "0";
  CHECK(DecodeSend(only_hop).metadata == nullptr);
}

TEST_CASE("trace context: a valid traceparent becomes this hop's span, a child of the sender's") {
  Message m = Make("n.in");
  (*m.mutable_metadata())["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  (*m.mutable_metadata())["tracestate"] = "congo=t61rcWkgMzE";
  (*m.mutable_metadata())["hop"] = "2";
  auto d = DecodeSend(m);
  REQUIRE(d.ok);
  REQUIRE(d.trace != nullptr);
  CHECK(d.trace->trace_view() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(d.trace->parent_view() == "00f067aa0ba902b7");
  CHECK(d.trace->span_view() != "00f067aa0ba902b7");
  CHECK(d.trace->tracestate == "congo=t61rcWkgMzE");
  CHECK(d.trace->name == "n.in");
  CHECK(d.metadata == nullptr);  // neither header is pass-through metadata
}

TEST_CASE("trace context: an invalid traceparent is dropped with its tracestate, the message still goes") {
  for (const char* bad : {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "garbage", ""}) {
    Message m = Make("n.in");
    (*m.mutable_metadata())["traceparent"] = bad;
    (*m.mutable_metadata())["tracestate"] = "congo=t61rcWkgMzE";
    auto d = DecodeSend(m);
    REQUIRE(d.ok);
    CHECK(d.trace == nullptr);
    CHECK(d.metadata == nullptr);
  }
  Message alone = Make("n.in");
  (*alone.mutable_metadata())["tracestate"] = "congo=t61rcWkgMzE";
  CHECK(DecodeSend(alone).trace == nullptr);
}

TEST_CASE("a hop that is not a non-negative integer is refused") {
  for (const char* hop : {"", "-1", "1.5", "abc", "3 ", "99999999999"}) {
    CAPTURE(hop);
    Message m = Make("a.in");
    (*m.mutable_metadata())["hop"] = hop;
    auto d = DecodeSend(m);
    CHECK_FALSE(d.ok);
    CHECK(d.error == "metadata 'hop' is not a non-negative integer");
  }
}

TEST_CASE("a `to` that is not node.port is refused, naming it") {
  for (const char* to : {"", "nodeport", "a.b.c", ".in", "a.", "Upper.in", "a.in-put", "-a.in", "a..in"}) {
    CAPTURE(to);
    auto d = DecodeSend(Make(to));
    CHECK_FALSE(d.ok);
    CHECK(d.error == "to '" + std::string(to) + "' is not node.port");
  }
}

TEST_CASE("a long bad `to` is cut to 200 bytes in the error") {
  std::string to(5000, 'x');
  auto d = DecodeSend(Make(to));
  CHECK_FALSE(d.ok);
  CHECK(d.error == "to '" + std::string(200, 'x') + "... (5000 bytes)' is not node.port");
}

TEST_CASE("data that is not JSON is refused, saying why") {
  auto d = DecodeSend(Make("a.in", "{not json"));
  CHECK_FALSE(d.ok);
  CHECK(d.error.rfind("data is not valid JSON: ", 0) == 0);
  CHECK(d.error.size() > std::string("data is not valid JSON: ").size());
  CHECK(d.node.empty());  // nothing half-decoded
}

TEST_CASE("CheckJsonText: values of every kind pass, broken text does not") {
  for (const char* good : {"", "{}", "[]", "1", "-2.5e3", "\"s\"", "true", "null", R"({"a":[1,{"b":null}]})",
                           " {\"pad\": 1} ", "\"\xc3\xa9\""}) {
    CAPTURE(good);
    CHECK(CheckJsonText(good).ok());
    CHECK(IsJsonText(good));
  }
  for (const char* bad : {"{", "}", "[1,]", "{'a':1}", "nul", "1 2", "{\"a\":}", "\"unterminated"}) {
    CAPTURE(bad);
    auto r = CheckJsonText(bad);
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.message().empty());
    CHECK_FALSE(IsJsonText(bad));
  }
}

TEST_CASE("the two errors a user can act on get plain words: depth and UTF-8") {
  std::string deep(2000, '[');
  deep += std::string(2000, ']');
  auto r = CheckJsonText(deep);
  CHECK_FALSE(r.ok());
  CHECK(r.message().rfind("nested deeper than ", 0) == 0);
  CHECK(r.message().find(" levels") != std::string::npos);

  auto utf8 = CheckJsonText("\"\xff\xfe\"");
  CHECK_FALSE(utf8.ok());
  CHECK(utf8.message() == "not valid UTF-8");
  auto d = DecodeSend(Make("a.in", "{\"k\":\"\xc3\x28\"}"));
  CHECK_FALSE(d.ok);
  CHECK(d.error == "data is not valid JSON: not valid UTF-8");
}

TEST_CASE("nesting up to the limit is fine") {
  std::string ok(100, '[');
  ok += std::string(100, ']');
  CHECK(CheckJsonText(ok).ok());
}

TEST_CASE("the check agrees with the components' JSON reader on numbers") {
  // nlohmann::json (what the SDK parses with) takes integers beyond 64 bits
  // as doubles; simdjson alone refused them.
  for (const char* big : {"123456789012345678901234567890", "18446744073709551616", "[-99999999999999999999999]",
                          "{\"n\":1e-400}"}) {
    CAPTURE(big);
    CHECK(CheckJsonText(big).ok());
    CHECK(nlohmann::json::parse(big, nullptr, false).is_discarded() == false);
  }
  // Neither takes a number beyond a double's range.
  for (const char* huge : {"1e400", "[-1e400]"}) {
    CAPTURE(huge);
    CHECK_FALSE(CheckJsonText(huge).ok());
    CHECK(nlohmann::json::parse(huge, nullptr, false).is_discarded());
  }
  CHECK_FALSE(CheckJsonText("[1e400, 12345678901234567890123]").ok());
  CHECK_FALSE(CheckJsonText("[12345678901234567890123,]").ok());  // a big number does not excuse bad syntax
}

TEST_CASE("after a large message the checker gives its buffers back") {
  std::string big = "[\"" + std::string(4 << 20, 'x') + "\"]";  // 4 MiB
  CHECK(CheckJsonText(big).ok());
  CHECK(JsonCheckCapacity() <= (1u << 20));
  CHECK(CheckJsonText("{\"small\":1}").ok());
  CHECK(JsonCheckCapacity() <= (1u << 20));
}
