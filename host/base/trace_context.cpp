#include "host/base/trace_context.h"

#include <algorithm>
#include <atomic>
#include <random>

namespace tiny::host {
namespace {

constexpr char kHex[] = "0123456789abcdef";
// W3C level 2 defines sampled (01) and random (02); other bits are zeroed.
constexpr uint8_t kKnownFlags = 0x03;

thread_local const TraceContext* t_current = nullptr;
std::atomic<SpanSink*> g_sink{nullptr};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase too: W3C ids are lowercase
}

// True iff `s` is lowercase hex and, when `nonzero`, not all '0'.
bool IsHex(std::string_view s, bool nonzero) {
  bool any = false;
  for (char c : s) {
    if (HexDigit(c) < 0) return false;
    any = any || c != '0';
  }
  return any || !nonzero;
}

// splitmix64: cheap, and good enough for ids that need to be unique, not
// secret. One generator per thread, seeded once from the OS.
uint64_t NextRandom() {
  thread_local uint64_t state = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/' ||
         c == '@';
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ValidMember(std::string_view member) {
  size_t eq = member.find('=');
  if (eq == std::string_view::npos) return false;
  std::string_view key = member.substr(0, eq), value = member.substr(eq + 1);
  if (key.empty() || key.size() > 256 || value.empty() || value.size() > 256) return false;
  if (std::count(key.begin(), key.end(), '@') > 1 || key.front() == '@' || key.back() == '@') return false;
  if (!std::all_of(key.begin(), key.end(), IsKeyChar)) return false;
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

}  // namespace

std::string TraceContext::TraceParent() const {
  std::string out;
  out.reserve(kTraceParentSize);
  out.append("00-").append(trace_view()).append("-").append(span_view()).append("-");
  out += kHex[flags >> 4];
  out += kHex[flags & 0xf];
  return out;
}

TraceContext TraceContext::Child(std::string_view hop_name) const {
  TraceContext next;
  next.trace_id = trace_id;
  next.parent_id = span_id;
  RandomHex(next.span_id.data(), next.span_id.size());
  next.flags = flags;
  next.tracestate = tracestate;
  next.name = hop_name;
  next.start = std::chrono::steady_clock::now();
  return next;
}

std::optional<TraceParentFields> ParseTraceParent(std::string_view h) {
  if (h.size() < kTraceParentSize || h.size() > kMaxTraceParentSize) return std::nullopt;
  std::string_view version = h.substr(0, 2);
  if (!IsHex(version, false) || version == "ff") return std::nullopt;
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  // Version 00 has exactly these fields; a later version may append more
  // after a '-', which a version-00 reader ignores.
  if (version == "00" ? h.size() != kTraceParentSize : h.size() > kTraceParentSize && h[kTraceParentSize] != '-')
    return std::nullopt;
  std::string_view trace = h.substr(3, 32), parent = h.substr(36, 16), flags = h.substr(53, 2);
  if (!IsHex(trace, true) || !IsHex(parent, true) || !IsHex(flags, false)) return std::nullopt;
  TraceParentFields out;
  std::copy(trace.begin(), trace.end(), out.trace_id.begin());
  std::copy(parent.begin(), parent.end(), out.parent_id.begin());
  out.flags = static_cast<uint8_t>((HexDigit(flags[0]) << 4 | HexDigit(flags[1])) & kKnownFlags);
  return out;
}

bool ValidTraceState(std::string_view state) {
  if (state.size() > kMaxTraceStateSize) return false;
  size_t members = 0;
  while (true) {
    size_t comma = state.find(',');
    std::string_view member = TrimOws(state.substr(0, comma));
    if (!member.empty()) {
      if (++members > kMaxTraceStateMembers || !ValidMember(member)) return false;
    }
    if (comma == std::string_view::npos) return true;
    state.remove_prefix(comma + 1);
  }
}

std::optional<TraceContext> ContinueTrace(std::string_view traceparent, std::string_view tracestate) {
  auto fields = ParseTraceParent(traceparent);
  if (!fields) return std::nullopt;
  TraceContext t;
  t.trace_id = fields->trace_id;
  t.span_id = fields->parent_id;
  t.parent_id.fill('0');
  t.flags = fields->flags;
  if (ValidTraceState(tracestate)) t.tracestate = tracestate;
  return t;
}

TraceContext StartTrace() {
  TraceContext t;
  RandomHex(t.trace_id.data(), t.trace_id.size());
  RandomHex(t.span_id.data(), t.span_id.size());
  t.parent_id.fill('0');
  t.flags = 0x01;
  return t;
}

void RandomHex(char* out, size_t n) {
  do {
    for (size_t i = 0; i < n; i += 16) {
      uint64_t r = NextRandom();
      for (size_t j = i; j < std::min(n, i + 16); ++j, r >>= 4) out[j] = kHex[r & 0xf];
    }
  } while (!IsHex(std::string_view(out, n), true));
}

const TraceContext* CurrentTrace() { return t_current; }

TraceScope::TraceScope(const TraceContext* trace) : saved_(t_current) { t_current = trace; }
TraceScope::~TraceScope() { t_current = saved_; }

void SetSpanSink(SpanSink* sink) { g_sink.store(sink, std::memory_order_release); }

void EndSpan(const TraceContext& span, int32_t status) {
  if (SpanSink* sink = g_sink.load(std::memory_order_acquire))
    sink->OnSpanEnd(span, std::chrono::steady_clock::now(), status);
}

}  // namespace tiny::host
