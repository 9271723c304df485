// tiny/detail/host.hpp — the host's function tables as the SDK keeps them,
// and byte-view conversions. Plumbing under tiny/plugin.hpp; an author
// does not include it.
#ifndef TINY_DETAIL_HOST_HPP
#define TINY_DETAIL_HOST_HPP

#include <tiny/plugin.h>

#include <cstdint>
#include <string_view>

namespace tiny::detail {

// Set once by the entry's init, read-only afterwards. One plugin = one
// shared object = one copy of these (the symbols are hidden).
inline const tiny_host_api* g_host = nullptr;
inline const tiny_timer_api* g_timer = nullptr;
inline const tiny_host_metrics_api* g_metrics = nullptr;  // NULL on a host without it
inline const tiny_host_trace_api* g_trace = nullptr;  // NULL on a host without tiny.trace/1

inline tiny_bytes view(std::string_view s) {
  return tiny_bytes{reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view view(tiny_bytes b) {
  return b.len ? std::string_view(reinterpret_cast<const char*>(b.ptr), b.len) : std::string_view();
}

// Answers `call` with status, data and error text. [thread: any]
inline void complete(tiny_call* call, int32_t status, std::string_view data, std::string_view error) {
  tiny_result r{status, view(data), view(error)};
  g_host->complete(call, &r);
}

// The entry's init: checks the host table and keeps it. nullptr on
// success, else why the plugin refuses this host.
inline const char* init_host(const tiny_host_api* host) noexcept {
  if (host == nullptr || host->struct_size < sizeof(tiny_host_api)) return "host API table is too old for this plugin";
  // The same rule the host's loader applies, from this side: a host that
  // loads a plugin built for a newer minor (or another major) is refused.
  if (!tiny_abi_compatible(host->abi, tiny_abi_version{TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR}))
    return "host ABI version is not compatible with this plugin's";
  g_host = host;
  g_timer = static_cast<const tiny_timer_api*>(host->get_extension(host, TINY_EXT_TIMER));
  g_metrics = static_cast<const tiny_host_metrics_api*>(host->get_extension(host, TINY_EXT_METRICS));
  if (g_metrics && g_metrics->struct_size < sizeof(tiny_host_metrics_api)) g_metrics = nullptr;
  g_trace = static_cast<const tiny_host_trace_api*>(host->get_extension(host, TINY_EXT_TRACE));
  if (g_trace != nullptr && g_trace->struct_size < sizeof(tiny_host_trace_api)) g_trace = nullptr;
  return nullptr;
}

}  // namespace tiny::detail

#endif  // TINY_DETAIL_HOST_HPP
