// Whether bytes are JSON: the check every message's `data` passes where it
// enters the host (an inbound Send, a node's answer, a node's emit). Pure
// and cheap (simdjson, no DOM kept); the fuzzers drive it with arbitrary
// bytes.
#pragma once

#include <cstddef>
#include <string_view>

#include "host/base/result.h"

namespace tiny::host {

// Ok iff `data` is empty or one valid JSON value; else why not, in a few
// words. [thread: any]
Result CheckJsonText(std::string_view data);
inline bool IsJsonText(std::string_view data) { return CheckJsonText(data).ok(); }
// What this thread's JSON checker holds now, in bytes (for tests: it gives
// back what a large message took).
size_t JsonCheckCapacity();

}  // namespace tiny::host
