// Text and number helpers shared by the expression evaluator
// (expression.cpp) and its built-in functions (expression_functions.cpp).
// Internal to host/flow: nothing outside the expression language uses them.
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "host/flow/expression.h"

namespace tiny::host::expression_detail {

using json = nlohmann::json;

inline const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "binary";
  }
}

inline bool IsUtf8Continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

inline size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += IsUtf8Continuation(c) ? 0 : 1;
  return n;
}

// Byte offset of the code point with index `index` (clamped to the end).
inline size_t ByteOffsetOfCodePoint(std::string_view s, size_t index) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (IsUtf8Continuation(static_cast<unsigned char>(s[i]))) continue;
    if (seen == index) return i;
    ++seen;
  }
  return s.size();
}

inline bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// A number as the evaluator sees it: int64 when exact, else double.
// Unsigned values above INT64_MAX become doubles.
struct Number {
  bool is_int;
  int64_t i;
  double d;
  double AsDouble() const { return is_int ? static_cast<double>(i) : d; }
};

inline bool ToNumber(const json& v, Number* out) {
  switch (v.type()) {
    case json::value_t::number_integer:
      *out = {true, v.get_ref<const json::number_integer_t&>(), 0};
      return true;
    case json::value_t::number_unsigned: {
      uint64_t u = v.get_ref<const json::number_unsigned_t&>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        *out = {true, static_cast<int64_t>(u), 0};
      } else {
        *out = {false, 0, static_cast<double>(u)};
      }
      return true;
    }
    case json::value_t::number_float:
      *out = {false, 0, v.get_ref<const json::number_float_t&>()};
      return true;
    default: return false;
  }
}

// JSON has no infinity or NaN, so a float result must be finite.
inline json FiniteDouble(double d) {
  if (!std::isfinite(d)) throw EvaluationError("arithmetic result is not a finite number");
  return json(d);
}

// Doubles in [-2^63, 2^63) convert to int64 exactly when integral.
inline bool DoubleFitsInt64(double d) { return d >= -9223372036854775808.0 && d < 9223372036854775808.0; }

inline void AppendDouble(double d, std::string* out) {
  // Integral values print without ".0" (and without exponent) while every
  // integer up to 2^53 is exact; beyond that, shortest round-trip form.
  if (d == std::trunc(d) && std::fabs(d) < 9007199254740992.0) {
    out->append(std::to_string(static_cast<int64_t>(d)));
    return;
  }
  std::array<char, 64> buf;
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  if (ec != std::errc()) {
    out->append("null");
    return;
  }
  out->append(buf.data(), end);
}

inline bool Truthy(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return false;
    case json::value_t::boolean: return v.get_ref<const json::boolean_t&>();
    case json::value_t::number_integer: return v.get_ref<const json::number_integer_t&>() != 0;
    case json::value_t::number_unsigned: return v.get_ref<const json::number_unsigned_t&>() != 0;
    case json::value_t::number_float: return v.get_ref<const json::number_float_t&>() != 0.0;
    case json::value_t::string: return !v.get_ref<const json::string_t&>().empty();
    case json::value_t::array: return !v.get_ref<const json::array_t&>().empty();
    case json::value_t::object: return !v.get_ref<const json::object_t&>().empty();
    case json::value_t::binary: return true;
    default: return false;
  }
}

// Unary minus; INT64_MIN negates to a double.
inline json Negate(const json& v) {
  Number n;
  if (!ToNumber(v, &n)) {
    throw EvaluationError(std::string("unary '-' needs a number, got ") + TypeName(v));
  }
  if (n.is_int) {
    if (n.i != std::numeric_limits<int64_t>::min()) return json(-n.i);
    return json(-static_cast<double>(n.i));
  }
  return json(-n.d);
}

}  // namespace tiny::host::expression_detail
