// C entry points of the host table. Each one is noexcept in spirit: they
// catch everything, because an exception must not unwind into a plugin.
#include "host/runtime/host_api.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string_view>

#include "host/base/bytes.h"
#include "host/runtime/call.h"
#include "host/runtime/node.h"
#include "host/runtime/plugin_metrics.h"
#include "host/runtime/scheduler.h"

namespace tiny::host {
namespace {

spdlog::level::level_enum Level(int32_t level) {
  switch (level) {
    case TINY_LOG_TRACE: return spdlog::level::trace;
    case TINY_LOG_DEBUG: return spdlog::level::debug;
    case TINY_LOG_INFO: return spdlog::level::info;
    case TINY_LOG_WARN: return spdlog::level::warn;
    default: return spdlog::level::err;
  }
}

void Complete(tiny_call* call, const tiny_result* result) {
  if (call == nullptr || result == nullptr) {
    spdlog::error("plugin called complete with a NULL call or result");
    return;
  }
  try {
    if (!call->TryComplete(*result)) spdlog::error("plugin completed a call twice; the second answer is dropped");
  } catch (const std::exception& e) {
    spdlog::error("completing a call failed error={}", e.what());
  }
}

void Emit(tiny_node* node, const tiny_call* cause, const char* port, tiny_bytes data, tiny_emit_done_fn done,
          void* user) {
  Node* n = Node::From(node);
  try {
    n->scheduler->Emit(*n, cause, port ? std::string_view(port) : std::string_view(), AsView(data), done, user);
  } catch (const std::exception& e) {
    spdlog::error("emit failed node={} port={} error={}", n->name, port ? port : "", e.what());
  }
}

void Log(const tiny_host_api*, tiny_node* node, int32_t level, tiny_bytes message) {
  auto lvl = Level(level);
  if (!spdlog::should_log(lvl)) return;
  if (node) {
    Node* n = Node::From(node);
    spdlog::log(lvl, "{} node={} module={}", AsView(message), n->name, n->type->module);
  } else {
    spdlog::log(lvl, "{}", AsView(message));
  }
}

int32_t LogEnabled(const tiny_host_api*, int32_t level) { return spdlog::should_log(Level(level)) ? 1 : 0; }

uint64_t TimerStart(tiny_node* node, uint64_t delay_ms, tiny_timer_fn fn, void* user) {
  Node* n = Node::From(node);
  if (fn == nullptr) return 0;
  return n->scheduler->timers().Start(n, TimerDelay(delay_ms), fn, user);
}

int32_t TimerCancel(tiny_node* node, uint64_t id) {
  Node* n = Node::From(node);
  return n->scheduler->timers().Cancel(n, id) ? 1 : 0;
}

const tiny_timer_api kTimerApi = {sizeof(tiny_timer_api), &TimerStart, &TimerCancel};

// Copies `text` for the trace table's getters: NUL-terminated iff it fits.
size_t CopyOut(std::string_view text, char* buf, size_t cap) {
  if (buf != nullptr && cap > text.size()) {
    text.copy(buf, text.size());
    buf[text.size()] = '\0';
  }
  return text.size();
}

size_t TraceParentOf(const tiny_call* call, char* buf, size_t cap) {
  if (call == nullptr || !call->context.trace) return 0;
  return CopyOut(call->context.trace->TraceParent(), buf, cap);
}

size_t TraceStateOf(const tiny_call* call, char* buf, size_t cap) {
  if (call == nullptr || !call->context.trace) return 0;
  return CopyOut(call->context.trace->tracestate, buf, cap);
}

size_t ChildTraceParentOf(const tiny_call* call, char* buf, size_t cap) {
  if (call == nullptr || !call->context.trace) return 0;
  return CopyOut(call->context.trace->Child({}).TraceParent(), buf, cap);
}

void EmitRoot(tiny_node* node, const char* port, tiny_bytes data, tiny_bytes traceparent, tiny_bytes tracestate,
              tiny_emit_done_fn done, void* user) {
  Node* n = Node::From(node);
  try {
    auto trace = ContinueTrace(AsView(traceparent), AsView(tracestate));
    if (!trace) trace = StartTrace();
    n->scheduler->Emit(*n, nullptr, port ? std::string_view(port) : std::string_view(), AsView(data), done, user,
                       &*trace);
  } catch (const std::exception& e) {
    spdlog::error("emit failed node={} port={} error={}", n->name, port ? port : "", e.what());
  }
}

const tiny_host_trace_api kTraceApi = {sizeof(tiny_host_trace_api), &TraceParentOf, &TraceStateOf,
                                       &ChildTraceParentOf, &EmitRoot};

const void* GetExtension(const tiny_host_api*, const char* id) {
  if (id == nullptr) return nullptr;
  std::string_view name(id);
  if (name == TINY_EXT_TIMER) return &kTimerApi;
  if (name == TINY_EXT_METRICS) return MetricsApi();
  if (name == TINY_EXT_TRACE) return &kTraceApi;
  return nullptr;
}

const char* NodeName(tiny_node* node) { return Node::From(node)->name.c_str(); }

const tiny_host_api kHostApi = {sizeof(tiny_host_api),
                                {TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR},
                                &Complete,
                                &Emit,
                                &Log,
                                &LogEnabled,
                                &GetExtension,
                                &NodeName};

}  // namespace

const tiny_host_api* HostApi() { return &kHostApi; }

}  // namespace tiny::host
