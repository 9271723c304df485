// A value a user or a peer supplied, as an error line shows it: whole when
// short, else its first `max` bytes and its length, so that one line stays
// one line whatever was sent.
#pragma once

#include <string>
#include <string_view>

namespace tiny::host {

inline std::string Excerpt(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "... (" + std::to_string(text.size()) + " bytes)";
}

}  // namespace tiny::host
