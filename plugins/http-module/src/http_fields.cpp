#include "http_fields.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace http_module {
namespace {

constexpr size_t kShownName = 64;

// The name as JSON text, cut to kShownName bytes: a log line stays short
// and printable whatever the flow put in the name.
std::string shown(std::string_view name) {
  std::string text = nlohmann::json(std::string(name.substr(0, kShownName)))
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (name.size() > kShownName) text += "...";
  return text;
}

bool is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

}  // namespace

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

std::string field_problem(std::string_view name, std::string_view value) {
  const std::string limit = " bytes, over the limit of " + std::to_string(kMaxFieldBytes);
  if (name.size() > kMaxFieldBytes)
    return "header name " + shown(name) + " is " + std::to_string(name.size()) + limit;
  if (!is_token(name)) return "header name " + shown(name) + " is not a valid field name";
  if (value.size() > kMaxFieldBytes)
    return "header " + shown(name) + " value is " + std::to_string(value.size()) + limit;
  for (unsigned char c : value)
    if (is_control(c)) return "header " + shown(name) + " has a control character (CR, LF, NUL...) in its value";
  return {};
}

}  // namespace http_module
