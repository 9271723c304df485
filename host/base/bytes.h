// The one conversion between the C ABI's byte views and C++ strings.
//
// Neither function copies: the result borrows the bytes it was made from
// and is valid only while they are (for a tiny_bytes a plugin passed in,
// only during the call, ABI rule 7).
#pragma once

#include <tiny/plugin.h>

#include <cstdint>
#include <string_view>

namespace tiny::host {

// A view of `s` for handing to the ABI.
inline tiny_bytes AsBytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// A view of `b`; an empty view when `b.len` is 0, whatever `b.ptr` is
// (a plugin may pass NULL with length 0).
inline std::string_view AsView(tiny_bytes b) {
  return b.len ? std::string_view(reinterpret_cast<const char*>(b.ptr), b.len) : std::string_view();
}

}  // namespace tiny::host
