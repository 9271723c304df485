// Non-throwing readers for message bodies and settings values, so every
// malformed input becomes an error reply that names the field, never an
// exception (which the SDK would turn into INTERNAL).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tiny/plugin.hpp>

namespace common_module {

// The body parsed as JSON; null when empty, nullopt when it is not JSON.
inline std::optional<tiny::Json> parse_body(std::string_view data) {
  if (data.empty()) return tiny::Json();
  tiny::Json j = tiny::Json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// True iff the body is empty or JSON. Validates without building a DOM,
// for components that pass the bytes on unchanged.
inline bool is_json(std::string_view data) {
  return data.empty() || tiny::Json::accept(data.begin(), data.end());
}

// The value as an integer in [lo, hi]: an integer number, or a float with
// no fractional part. nullopt for anything else. |lo|, |hi| < 2^53.
inline std::optional<int64_t> integer_in(const tiny::Json& j, int64_t lo, int64_t hi) {
  int64_t v = 0;
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi < 0 ? 0 : hi)) return std::nullopt;
    v = static_cast<int64_t>(u);
  } else if (j.is_number_integer()) {
    v = j.get<int64_t>();
  } else if (j.is_number_float()) {
    double d = j.get<double>();
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || std::trunc(d) != d) return std::nullopt;
    v = static_cast<int64_t>(d);
  } else {
    return std::nullopt;
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

// A short rendering of a value for an error message.
inline std::string describe(const tiny::Json& j) {
  std::string s = j.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// "NAME must be an integer between LO and HI, got VALUE".
inline std::string integer_error(std::string_view name, int64_t lo, int64_t hi, const tiny::Json& got,
                                 std::string_view unit = {}) {
  std::string m(name);
  m += " must be an integer";
  if (!unit.empty()) {
    m += " number of ";
    m += unit;
  }
  m += " between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + describe(got);
  return m;
}

}  // namespace common_module
