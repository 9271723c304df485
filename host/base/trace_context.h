// W3C Trace Context (https://www.w3.org/TR/trace-context/): the
// `traceparent` and `tracestate` a message carries, the span of each hop,
// and the trace of the work running on this thread (for log lines).
//
// A message without trace context stays without: nothing here runs, and
// nothing is allocated, for it. The host starts a trace only where a
// component asks (http_server); an invalid traceparent from a peer is
// dropped, never repaired.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tiny::host {

// Bounds on what a peer or a client may send (larger values are dropped).
inline constexpr size_t kMaxTraceParentSize = 256;  // version 00 is 55; a future version may be longer
inline constexpr size_t kMaxTraceStateSize = 512;   // W3C: at least 512 must be propagated
inline constexpr size_t kMaxTraceStateMembers = 32;  // W3C's limit
inline constexpr size_t kTraceParentSize = 55;       // "00-" 32 "-" 16 "-" 2

// The span of one hop (one delivery to a node) of a traced message.
struct TraceContext {
  std::array<char, 32> trace_id{};   // lowercase hex, not all zero
  std::array<char, 16> span_id{};    // this hop's span, lowercase hex, not all zero
  std::array<char, 16> parent_id{};  // the span that delivered it (all '0': none known)
  uint8_t flags = 0;                 // trace-flags; bit 0 = sampled
  std::string tracestate;            // passed through unchanged; empty = none
  std::string name;                  // NODE.PORT the hop delivers to, when known (for a span sink)
  std::chrono::steady_clock::time_point start{};  // when the hop began

  std::string_view trace_view() const { return {trace_id.data(), trace_id.size()}; }
  std::string_view span_view() const { return {span_id.data(), span_id.size()}; }
  std::string_view parent_view() const { return {parent_id.data(), parent_id.size()}; }

  // "00-<trace-id>-<span-id>-<flags>": this span as the parent a callee sees.
  std::string TraceParent() const;
  // The next hop: same trace, flags and state; a new span whose parent is
  // this one, delivering to `name`, starting now.
  TraceContext Child(std::string_view name) const;
};

// What a traceparent header says: the caller's trace, its span (as our
// parent) and flags.
struct TraceParentFields {
  std::array<char, 32> trace_id{};
  std::array<char, 16> parent_id{};
  uint8_t flags = 0;
};

// Parses `header` strictly (W3C section 3.2): version 00 is exactly 55
// characters, lowercase hex, ids not all zero; a higher version (not ff)
// is read by the version-00 layout, with anything after a '-' at position
// 55 ignored. Returns nullopt for anything else, or for more than
// kMaxTraceParentSize bytes. Flags keep only the bits W3C defines
// (sampled, random); the others are zeroed, as the spec asks.
std::optional<TraceParentFields> ParseTraceParent(std::string_view header);

// True iff `state` is a tracestate worth passing on: at most
// kMaxTraceStateSize bytes and kMaxTraceStateMembers members, each empty
// or `key=value` with a W3C key (lowercase, digits, `_-*/`, one `@`) and a
// printable value without ',' or '='.
bool ValidTraceState(std::string_view state);

// The trace context of a message that arrives with these headers, as the
// span that carried it there: nullopt when the traceparent is missing or
// invalid (the tracestate goes with it then); the tracestate is dropped
// alone when invalid. The result's span id is the header's parent-id, so
// that its Child() is the first hop here.
std::optional<TraceContext> ContinueTrace(std::string_view traceparent, std::string_view tracestate);

// A new trace (random trace id and span id, sampled), as the span that
// starts it: its Child() is the first hop.
TraceContext StartTrace();

// Fills `out` with random lowercase hex, never all zero. Thread-local
// generator, seeded once per thread. [thread: any]
void RandomHex(char* out, size_t n);

// The trace of the work on this thread: set while a handler runs and while
// the host logs about a traced call, so log lines carry trace_id/span_id.
// Null when there is none. [thread: this one]
const TraceContext* CurrentTrace();

// The seam for exporting spans (an OpenTelemetry exporter, later): told
// when a traced hop's call is answered. None is set by default; then a
// traced answer costs one atomic load and an untraced one nothing.
class SpanSink {
 public:
  virtual ~SpanSink() = default;
  // `span` is borrowed; `status` is the answer's tiny_status. Must return
  // promptly and never throw. [thread: any, concurrently]
  virtual void OnSpanEnd(const TraceContext& span, std::chrono::steady_clock::time_point end, int32_t status) = 0;
};

// Installs `sink` (not owned; null removes it). Set it before the host
// serves and remove it after the host stopped. [thread: any]
void SetSpanSink(SpanSink* sink);

// Tells the sink, if one is set, that `span` ended with `status`.
void EndSpan(const TraceContext& span, int32_t status);

// Sets CurrentTrace() for a scope (null is allowed: no trace).
class TraceScope {
 public:
  explicit TraceScope(const TraceContext* trace);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  const TraceContext* saved_;
};

}  // namespace tiny::host
