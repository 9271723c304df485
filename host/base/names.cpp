#include "host/base/names.h"

namespace tiny::host {
namespace {
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s)
    if (!IsLowerAlnum(c) && c != '-') return false;
  return true;
}

bool IsPortName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!IsLowerAlnum(c) && c != '_') return false;
  return true;
}

std::optional<std::pair<std::string_view, std::string_view>> SplitAddress(std::string_view address) {
  size_t dot = address.find('.');
  if (dot == std::string_view::npos || address.find('.', dot + 1) != std::string_view::npos) return std::nullopt;
  std::string_view node = address.substr(0, dot), port = address.substr(dot + 1);
  if (!IsDnsLabel(node) || !IsPortName(port)) return std::nullopt;
  return std::make_pair(node, port);
}

bool PortMatches(std::string_view declared, std::string_view port) {
  if (!declared.empty() && declared.back() == '*') {
    std::string_view prefix = declared.substr(0, declared.size() - 1);
    return port.size() > prefix.size() && port.substr(0, prefix.size()) == prefix &&
           IsPortName(port.substr(prefix.size()));
  }
  return declared == port;
}

}  // namespace tiny::host
