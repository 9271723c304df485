#include "host/base/trace_context.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace tiny::host;

namespace {

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kSpan = "00f067aa0ba902b7";
const std::string kValid = "00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-01";

std::string Str(std::string_view v) { return std::string(v); }

}  // namespace

TEST_CASE("a valid version-00 traceparent is parsed") {
  auto f = ParseTraceParent(kValid);
  REQUIRE(f);
  CHECK(Str({f->trace_id.data(), 32}) == kTrace);
  CHECK(Str({f->parent_id.data(), 16}) == kSpan);
  CHECK(f->flags == 1);
  auto unsampled = ParseTraceParent("00-" + Str(kTrace) + "-" + Str(kSpan) + "-00");
  REQUIRE(unsampled);
  CHECK(unsampled->flags == 0);
}

TEST_CASE("flags keep only the bits W3C defines") {
  auto f = ParseTraceParent("00-" + Str(kTrace) + "-" + Str(kSpan) + "-ff");
  REQUIRE(f);
  CHECK(f->flags == 0x03);
}

TEST_CASE("each invalid traceparent form is refused") {
  const std::string t(kTrace), s(kSpan);
  CHECK_FALSE(ParseTraceParent(""));
  CHECK_FALSE(ParseTraceParent("00"));
  CHECK_FALSE(ParseTraceParent(kValid.substr(0, 54)));                            // short
  CHECK_FALSE(ParseTraceParent(kValid + "-"));                                    // 00 with more fields
  CHECK_FALSE(ParseTraceParent(kValid + "0"));                                    // 00 too long
  CHECK_FALSE(ParseTraceParent("00-" + t + "-" + s + "-1"));                      // one-digit flags
  CHECK_FALSE(ParseTraceParent("00-" + t.substr(1) + "-" + s + "-011"));          // short trace id
  CHECK_FALSE(ParseTraceParent("00-" + t + "0-" + s.substr(1) + "-01"));          // long trace id
  CHECK_FALSE(ParseTraceParent("00-" + std::string(32, '0') + "-" + s + "-01"));  // zero trace id
  CHECK_FALSE(ParseTraceParent("00-" + t + "-" + std::string(16, '0') + "-01"));  // zero parent id
  CHECK_FALSE(ParseTraceParent("00_" + t + "-" + s + "-01"));                     // separators
  CHECK_FALSE(ParseTraceParent("00-" + t + "_" + s + "-01"));
  CHECK_FALSE(ParseTraceParent("00-" + t + "-" + s + "_01"));
  CHECK_FALSE(ParseTraceParent("00-" + t + "-" + s + "-0g"));                     // flags not hex
  CHECK_FALSE(ParseTraceParent("0g-" + t + "-" + s + "-01"));                     // version not hex
  CHECK_FALSE(ParseTraceParent("ff-" + t + "-" + s + "-01"));                     // version ff is invalid
  CHECK_FALSE(ParseTraceParent("00-" + t.substr(0, 31) + "x-" + s + "-01"));      // not hex
  CHECK_FALSE(ParseTraceParent(" " + kValid.substr(1)));
}

TEST_CASE("uppercase hex is refused") {
  std::string upper = "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + std::string(kSpan) + "-01";
  CHECK_FALSE(ParseTraceParent(upper));
  CHECK_FALSE(ParseTraceParent("00-" + std::string(kTrace) + "-00F067AA0BA902B7-01"));
  CHECK_FALSE(ParseTraceParent("00-" + std::string(kTrace) + "-" + std::string(kSpan) + "-0A"));
  CHECK_FALSE(ParseTraceParent("0A-" + std::string(kTrace) + "-" + std::string(kSpan) + "-01"));
}

TEST_CASE("a future version is read by the version-00 layout") {
  const std::string rest = Str(kTrace) + "-" + Str(kSpan) + "-01";
  auto same = ParseTraceParent("01-" + rest);
  REQUIRE(same);
  CHECK(Str({same->trace_id.data(), 32}) == kTrace);
  auto longer = ParseTraceParent("cc-" + rest + "-what-the-future-holds");
  REQUIRE(longer);
  CHECK(Str({longer->parent_id.data(), 16}) == kSpan);
  CHECK_FALSE(ParseTraceParent("cc-" + rest + "x-more"));  // field 55 is not a '-'
  CHECK_FALSE(ParseTraceParent("cc-" + rest + std::string(300, '-')));  // over the bound
}

TEST_CASE("huge inputs are refused without reading them") {
  CHECK_FALSE(ParseTraceParent(kValid + std::string(1 << 20, 'a')));
  CHECK_FALSE(ValidTraceState(std::string(1 << 20, 'a')));
  CHECK_FALSE(ContinueTrace(std::string(1 << 20, '0'), ""));
}

TEST_CASE("tracestate: well-formed lists pass, others are dropped") {
  CHECK(ValidTraceState(""));
  CHECK(ValidTraceState("congo=t61rcWkgMzE"));
  CHECK(ValidTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  CHECK(ValidTraceState("rojo=1 , ,\tcongo=2"));  // optional white space, empty members
  CHECK(ValidTraceState("tenant@vendor=x"));
  CHECK_FALSE(ValidTraceState("novalue"));
  CHECK_FALSE(ValidTraceState("=v"));
  CHECK_FALSE(ValidTraceState("k="));
  CHECK_FALSE(ValidTraceState("Upper=v"));
  CHECK_FALSE(ValidTraceState("k=a=b"));
  CHECK_FALSE(ValidTraceState("a@b@c=v"));
  CHECK_FALSE(ValidTraceState("k=\x01"));
  std::string many;
  for (int i = 0; i < 33; ++i) many += "k" + std::to_string(i) + "=v,";
  CHECK_FALSE(ValidTraceState(many));
  std::string big = "k=" + std::string(255, 'v') + ",l=" + std::string(255, 'v');  // 515 bytes
  CHECK_FALSE(ValidTraceState(big));
}

TEST_CASE("continuing a trace: the header's span is the parent of the first hop") {
  auto sender = ContinueTrace(kValid, "congo=t61rcWkgMzE");
  REQUIRE(sender);
  CHECK(sender->tracestate == "congo=t61rcWkgMzE");
  TraceContext hop = sender->Child("node.in");
  CHECK(hop.trace_view() == kTrace);
  CHECK(hop.parent_view() == kSpan);
  CHECK(hop.span_view() != kSpan);
  CHECK(hop.flags == 1);
  CHECK(hop.tracestate == "congo=t61rcWkgMzE");
  CHECK(hop.name == "node.in");
  CHECK(hop.TraceParent() == "00-" + Str(kTrace) + "-" + Str(hop.span_view()) + "-01");
  CHECK(ParseTraceParent(hop.TraceParent()));
}

TEST_CASE("an invalid tracestate is dropped alone; an invalid traceparent takes it along") {
  auto sender = ContinueTrace(kValid, "bad state");
  REQUIRE(sender);
  CHECK(sender->tracestate.empty());
  CHECK_FALSE(ContinueTrace("00-garbage", "congo=1"));
  CHECK_FALSE(ContinueTrace("", "congo=1"));
}

TEST_CASE("a new trace has random, valid, distinct ids") {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 100; ++i) {
    TraceContext t = StartTrace().Child("x.in");
    CHECK(t.flags == 1);
    REQUIRE(ParseTraceParent(t.TraceParent()));
    traces.insert(Str(t.trace_view()));
    spans.insert(Str(t.span_view()));
  }
  CHECK(traces.size() == 100);
  CHECK(spans.size() == 100);
}

TEST_CASE("the current trace is set for a scope and restored") {
  CHECK(CurrentTrace() == nullptr);
  TraceContext a = StartTrace(), b = StartTrace();
  {
    TraceScope outer(&a);
    CHECK(CurrentTrace() == &a);
    {
      TraceScope inner(&b);
      CHECK(CurrentTrace() == &b);
    }
    CHECK(CurrentTrace() == &a);
  }
  CHECK(CurrentTrace() == nullptr);
}
