// Why `tinyhost run` could not start: the exit code and the lines to print.
// Thrown by the start-up phases of run_command.cpp and caught once, in
// RunHost, which prints each line as "tinyhost: error: LINE"; the parts
// already started are then stopped by their destructors.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace tiny::host {

class StartupError : public std::runtime_error {
 public:
  // `exit_code`: 2 for a configuration error (a plugin, a flow, a setting
  // or a TLS file the user gave), 1 for a runtime failure (a port in use).
  StartupError(int exit_code, std::vector<std::string> lines)
      : std::runtime_error(lines.empty() ? std::string() : lines.front()),
        exit_code_(exit_code),
        lines_(std::move(lines)) {}
  StartupError(int exit_code, const std::string& line) : StartupError(exit_code, std::vector<std::string>{line}) {}

  int exit_code() const { return exit_code_; }
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  int exit_code_;
  std::vector<std::string> lines_;
};

}  // namespace tiny::host
