// tiny/settings.hpp — reads a component's settings with checked types and
// ranges, so that a wrong value is one error line naming the key:
//
//   setting 'delay': must be an integer number of milliseconds from 0 to 86400000, got -1
//
// The host already refuses keys the component did not declare and overlays
// the declared defaults, so every declared key is present. The reader never
// throws: a failed read returns a zero value and keeps the first error,
// which reply() answers.
//
//   tiny::Reply on_settings(const tiny::Json& s) override {
//     tiny::SettingsReader in(s);
//     auto delay = in.integer("delay", 0, 86'400'000, "milliseconds");
//     bool verbose = in.boolean("verbose");
//     if (!in.ok()) return in.reply();
//     delay_ms_ = delay;
//     ...
//     return tiny::Reply::empty();
//   }
//
// integer_in() and describe() are the same checks for message fields.
#ifndef TINY_SETTINGS_HPP
#define TINY_SETTINGS_HPP

#include <tiny/plugin.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tiny {

// The value as an integer in [min, max]: an integer number, or a float with
// no fractional part (YAML's 1e3). nullopt for anything else.
// |min|, |max| < 2^53.
inline std::optional<int64_t> integer_in(const Json& j, int64_t min, int64_t max) {
  int64_t v = 0;
  if (j.is_number_unsigned()) {
    uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(max < 0 ? 0 : max)) return std::nullopt;
    v = static_cast<int64_t>(u);
  } else if (j.is_number_integer()) {
    v = j.get<int64_t>();
  } else if (j.is_number_float()) {
    double d = j.get<double>();
    if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || std::trunc(d) != d) return std::nullopt;
    v = static_cast<int64_t>(d);
  } else {
    return std::nullopt;
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

// A short rendering of a value for an error message.
inline std::string describe(const Json& j) {
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// "must be an integer [number of UNIT] from MIN to MAX, got VALUE": the
// rule integer_in() checks, for an error that names its key or field.
inline std::string integer_rule(int64_t min, int64_t max, const Json& got, std::string_view unit = {}) {
  std::string m = "must be an integer";
  if (!unit.empty()) {
    m += " number of ";
    m += unit;
  }
  m += " from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + describe(got);
  return m;
}

// Checked reads of one settings object. Keeps the first error. Borrows
// `settings`, which must outlive the reader.
class SettingsReader {
 public:
  explicit SettingsReader(const Json& settings) : settings_(settings) {}

  // An integer in [min, max]; `unit` names what it counts ("milliseconds").
  int64_t integer(std::string_view key, int64_t min, int64_t max, std::string_view unit = {}) {
    const Json* v = find(key);
    if (v == nullptr) return 0;
    std::optional<int64_t> i = integer_in(*v, min, max);
    if (!i) {
      fail(key, integer_rule(min, max, *v, unit));
      return 0;
    }
    return *i;
  }
  // A number in [min, max].
  double number(std::string_view key, double min, double max) {
    const Json* v = find(key);
    if (v == nullptr) return 0;
    if (!v->is_number() || !(v->get<double>() >= min && v->get<double>() <= max)) {
      fail(key, "must be a number from " + bound(min) + " to " + bound(max) + ", got " + describe(*v));
      return 0;
    }
    return v->get<double>();
  }
  bool boolean(std::string_view key) {
    const Json* v = find(key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      fail(key, "must be true or false, got " + describe(*v));
      return false;
    }
    return v->get<bool>();
  }
  std::string string(std::string_view key) {
    const Json* v = find(key);
    if (v == nullptr) return {};
    if (!v->is_string()) {
      fail(key, "must be a string, got " + describe(*v));
      return {};
    }
    return v->get<std::string>();
  }
  // The value as it stands (any JSON), null when missing.
  const Json& value(std::string_view key) {
    const Json* v = find(key);
    static const Json null_value;
    return v != nullptr ? *v : null_value;
  }

  // Records that `key` is wrong for a reason the reader cannot check:
  // "setting 'KEY': WHY". Only the first failure is kept.
  void fail(std::string_view key, std::string_view why) {
    if (!error_.empty()) return;
    error_ = "setting '";
    error_ += key;
    error_ += "': ";
    error_ += why;
  }

  bool ok() const { return error_.empty(); }
  // The first error, empty when every read succeeded.
  const std::string& error() const { return error_; }
  // The answer to `_settings`: the first error, else empty.
  Reply reply() const { return ok() ? Reply::empty() : Reply::error(error_); }

 private:
  // 1 rather than 1.0 for a whole bound.
  static std::string bound(double d) {
    return std::trunc(d) == d && std::fabs(d) < 9e15 ? std::to_string(static_cast<int64_t>(d)) : Json(d).dump();
  }
  const Json* find(std::string_view key) {
    if (settings_.is_object()) {
      auto it = settings_.find(std::string(key));
      if (it != settings_.end()) return &*it;
    }
    fail(key, "missing (a component reads only the keys it declares in ComponentSpec::settings)");
    return nullptr;
  }

  const Json& settings_;
  std::string error_;
};

}  // namespace tiny

#endif  // TINY_SETTINGS_HPP
