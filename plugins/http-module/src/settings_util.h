// Checked reads of typed settings, so a wrong type or range is one clear
// error line naming the key (the host already rejects unknown keys).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include <tiny/plugin.hpp>

namespace http_module {

// An integer in [min, max]; integral floats (YAML "1e3") are accepted.
inline bool read_uint(const tiny::Json& settings, const char* key, uint64_t min, uint64_t max, uint64_t& out,
                      std::string& error) {
  const tiny::Json& v = settings.at(key);
  double d = v.is_number() ? v.get<double>() : -1;
  if (!v.is_number() || d < static_cast<double>(min) || d > static_cast<double>(max) || std::floor(d) != d) {
    error = std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
            ", got " + v.dump();
    return false;
  }
  out = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(d);
  return true;
}

inline bool read_bool(const tiny::Json& settings, const char* key, bool& out, std::string& error) {
  const tiny::Json& v = settings.at(key);
  if (!v.is_boolean()) {
    error = std::string(key) + " must be true or false, got " + v.dump();
    return false;
  }
  out = v.get<bool>();
  return true;
}

inline bool read_string(const tiny::Json& settings, const char* key, std::string& out, std::string& error) {
  const tiny::Json& v = settings.at(key);
  if (!v.is_string()) {
    error = std::string(key) + " must be a string, got " + v.dump();
    return false;
  }
  out = v.get<std::string>();
  return true;
}

}  // namespace http_module
