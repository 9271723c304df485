#include "host/flow/expression_functions.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <string>

#include "host/flow/expression.h"
#include "host/flow/expression_values.h"

namespace tiny::host::expression_detail {
namespace {

[[noreturn]] void ThrowArg(std::string_view fn, std::string_view wanted, const json& got) {
  throw EvaluationError(std::string(fn) + "() expects " + std::string(wanted) + ", got " +
                        TypeName(got));
}

const std::string& StringArg(std::string_view fn, const json& v) {
  if (!v.is_string()) ThrowArg(fn, "a string", v);
  return v.get_ref<const json::string_t&>();
}

Number NumberArg(std::string_view fn, const json& v) {
  Number n;
  if (!ToNumber(v, &n)) ThrowArg(fn, "a number", v);
  return n;
}

// An integral number, clamped to int64 range (substr clamps anyway).
int64_t IntegerArg(std::string_view fn, const json& v) {
  Number n = NumberArg(fn, v);
  if (n.is_int) return n.i;
  if (n.d != std::trunc(n.d)) {
    throw EvaluationError(std::string(fn) + "() expects an integer, got " + ValueToText(v));
  }
  if (n.d <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  if (n.d >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(n.d);
}

json FnLength(Args a) {
  const json& v = *a[0];
  if (v.is_string()) {
    return json(static_cast<int64_t>(CountCodePoints(v.get_ref<const json::string_t&>())));
  }
  if (v.is_array() || v.is_object()) return json(static_cast<int64_t>(v.size()));
  ThrowArg("length", "a string, array or object", v);
}

json FnUpper(Args a) {
  std::string s = StringArg("upper", *a[0]);
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return json(std::move(s));
}

json FnLower(Args a) {
  std::string s = StringArg("lower", *a[0]);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return json(std::move(s));
}

json FnTrim(Args a) {
  std::string_view s = StringArg("trim", *a[0]);
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return json(std::string(s));
}

json FnSplit(Args a) {
  std::string_view s = StringArg("split", *a[0]);
  std::string_view sep = StringArg("split", *a[1]);
  json result = json::array();
  if (sep.empty()) {  // one element per character
    size_t start = 0;
    for (size_t i = 1; i <= s.size(); ++i) {
      if (i == s.size() || !IsUtf8Continuation(static_cast<unsigned char>(s[i]))) {
        result.push_back(std::string(s.substr(start, i - start)));
        start = i;
      }
    }
    return result;
  }
  size_t start = 0;
  while (true) {
    size_t found = s.find(sep, start);
    if (found == std::string_view::npos) break;
    result.push_back(std::string(s.substr(start, found - start)));
    start = found + sep.size();
  }
  result.push_back(std::string(s.substr(start)));
  return result;
}

json FnJoin(Args a) {
  const json& array = *a[0];
  if (!array.is_array()) ThrowArg("join", "an array", array);
  const std::string& sep = StringArg("join", *a[1]);
  std::string out;
  bool first = true;
  for (const auto& item : array.get_ref<const json::array_t&>()) {
    if (!first) out += sep;
    first = false;
    AppendValueText(item, &out);
  }
  return json(std::move(out));
}

json FnContains(Args a) {
  const json& haystack = *a[0];
  const json& needle = *a[1];
  if (haystack.is_string()) {
    return json(haystack.get_ref<const json::string_t&>().find(StringArg("contains", needle)) !=
                std::string::npos);
  }
  if (haystack.is_array()) {
    for (const auto& item : haystack.get_ref<const json::array_t&>()) {
      if (item == needle) return json(true);
    }
    return json(false);
  }
  if (haystack.is_object()) {
    const auto& object = haystack.get_ref<const json::object_t&>();
    return json(object.find(StringArg("contains", needle)) != object.end());
  }
  ThrowArg("contains", "a string, array or object", haystack);
}

json FnHasPrefix(Args a) {
  std::string_view s = StringArg("hasprefix", *a[0]);
  return json(s.starts_with(StringArg("hasprefix", *a[1])));
}

json FnHasSuffix(Args a) {
  std::string_view s = StringArg("hassuffix", *a[0]);
  return json(s.ends_with(StringArg("hassuffix", *a[1])));
}

json FnReplace(Args a) {
  const std::string& s = StringArg("replace", *a[0]);
  const std::string& from = StringArg("replace", *a[1]);
  const std::string& to = StringArg("replace", *a[2]);
  if (from.empty()) return json(s);
  std::string out;
  size_t start = 0;
  while (true) {
    size_t found = s.find(from, start);
    if (found == std::string::npos) break;
    out.append(s, start, found - start);
    out += to;
    start = found + from.size();
  }
  out.append(s, start, std::string::npos);
  return json(std::move(out));
}

// substr(s, start[, length]) in characters; both clamped into the string.
json FnSubstr(Args a) {
  const std::string& s = StringArg("substr", *a[0]);
  int64_t chars = static_cast<int64_t>(CountCodePoints(s));
  int64_t start = std::clamp<int64_t>(IntegerArg("substr", *a[1]), 0, chars);
  int64_t length = chars - start;
  if (a.size() > 2) length = std::clamp<int64_t>(IntegerArg("substr", *a[2]), 0, chars - start);
  size_t begin = ByteOffsetOfCodePoint(s, static_cast<size_t>(start));
  size_t end = ByteOffsetOfCodePoint(s, static_cast<size_t>(start + length));
  return json(s.substr(begin, end - begin));
}

json FnAbs(Args a) {
  Number n = NumberArg("abs", *a[0]);
  if (n.is_int) return n.i < 0 ? Negate(*a[0]) : json(n.i);
  return json(std::fabs(n.d));
}

// ceil/floor/round return an integer whenever the result fits int64.
json IntegralResult(double d) {
  return DoubleFitsInt64(d) ? json(static_cast<int64_t>(d)) : json(d);
}

json FnCeil(Args a) {
  Number n = NumberArg("ceil", *a[0]);
  return n.is_int ? json(n.i) : IntegralResult(std::ceil(n.d));
}

json FnFloor(Args a) {
  Number n = NumberArg("floor", *a[0]);
  return n.is_int ? json(n.i) : IntegralResult(std::floor(n.d));
}

json FnRound(Args a) {
  Number n = NumberArg("round", *a[0]);
  return n.is_int ? json(n.i) : IntegralResult(std::round(n.d));  // half away from zero
}

json FnNow(Args) {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
  int64_t seconds = ms / 1000;
  int64_t millis = ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);  // reentrant, unlike gmtime
  char buf[80];        // sized for any int fields, so the format can never truncate
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(millis));
  return json(buf);
}

json FnString(Args a) { return json(ValueToText(*a[0])); }

json FnNumber(Args a) {
  const json& v = *a[0];
  if (v.is_number()) return v;
  if (v.is_boolean()) return json(v.get<bool>() ? 1 : 0);
  std::string_view s = StringArg("number", v);
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  if (!s.empty()) {
    int64_t i;
    auto [ptr, ec] = std::from_chars(begin, end, i);
    if (ec == std::errc() && ptr == end) return json(i);
    double d;
    auto [dptr, dec] = std::from_chars(begin, end, d);
    if (dec == std::errc() && dptr == end && std::isfinite(d)) return json(d);
  }
  throw EvaluationError("number() cannot convert \"" + std::string(s) + "\" to a number");
}

// The value a JSON text stands for, e.g. an HTTP request's body.
json FnParseJson(Args a) {
  std::string_view s = StringArg("parsejson", *a[0]);
  // The same nesting limit as a Send's data: deeper values would make the
  // recursive copy and dump of the result a stack overflow.
  constexpr int kMaxDepth = 1024;
  bool too_deep = false;
  json out = json::parse(
      s,
      [&](int depth, json::parse_event_t, json&) {
        if (depth > kMaxDepth) too_deep = true;
        return !too_deep;
      },
      false);
  if (too_deep) throw EvaluationError("parsejson() got JSON nested deeper than 1024 levels");
  if (out.is_discarded()) {
    constexpr size_t kShown = 40;
    throw EvaluationError("parsejson() got text that is not JSON: \"" + std::string(s.substr(0, kShown)) +
                          (s.size() > kShown ? "…" : "") + "\"");
  }
  return out;
}


constexpr FunctionSpec kFunctions[] = {
    {"length", 1, 1, FnLength},       {"upper", 1, 1, FnUpper},
    {"lower", 1, 1, FnLower},         {"trim", 1, 1, FnTrim},
    {"split", 2, 2, FnSplit},         {"join", 2, 2, FnJoin},
    {"contains", 2, 2, FnContains},   {"hasprefix", 2, 2, FnHasPrefix},
    {"hassuffix", 2, 2, FnHasSuffix}, {"replace", 3, 3, FnReplace},
    {"substr", 2, 3, FnSubstr},       {"abs", 1, 1, FnAbs},
    {"ceil", 1, 1, FnCeil},           {"floor", 1, 1, FnFloor},
    {"round", 1, 1, FnRound},         {"now", 0, 0, FnNow},
    {"string", 1, 1, FnString},       {"number", 1, 1, FnNumber},
    {"parsejson", 1, 1, FnParseJson},
};

}  // namespace

const FunctionSpec* FindFunction(std::string_view name) {
  for (const auto& spec : kFunctions) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}
}  // namespace tiny::host::expression_detail
