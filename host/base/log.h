// Logging: one spdlog logger for the host, text or JSON lines.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace tiny::host {

// Configures the default logger. `level`: trace|debug|info|warn|error|off;
// `format`: text|json. Throws std::invalid_argument naming a bad value.
void ConfigureLogging(const std::string& level, const std::string& format);

// Escapes a value for key=value log lines: quoted iff it has spaces,
// quotes or '=' (so `grep 'module=http-module'` works on plain values).
std::string LogValue(std::string_view value);

}  // namespace tiny::host
