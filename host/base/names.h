// Name rules shared by flow validation, the loader and message routing.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace tiny::host {

// A node or module name: a DNS label, [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63.
bool IsDnsLabel(std::string_view s);
// A port name: [a-z0-9_]+ ('_' first marks a system port).
bool IsPortName(std::string_view s);
// A component name: [a-z0-9_]+.
inline bool IsComponentName(std::string_view s) { return IsPortName(s); }

// Splits "node.port" (exactly one dot, both parts valid); nullopt otherwise.
std::optional<std::pair<std::string_view, std::string_view>> SplitAddress(std::string_view address);

// True iff `port` is named by `declared`: equal, or `declared` ends in '*'
// and `port` is that prefix followed by one or more [a-z0-9_].
bool PortMatches(std::string_view declared, std::string_view port);

}  // namespace tiny::host
