// libFuzzer: the command line. The input is argv, one argument per NUL-
// separated piece; ParseOptions either yields options or throws one
// UsageError line, whatever the length or content of any argument.
// Arguments that would read a file (--config F, --data @F) are dropped, so
// the fuzzer never opens a path it made up.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "host/cli/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> args{"tinyhost"};
  std::string current;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || data[i] == '\0') {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  std::vector<const char*> argv;
  for (const auto& a : args) {
    if (a.find("config") != std::string::npos || (!a.empty() && a[0] == '@') || a.find("=@") != std::string::npos)
      continue;
    argv.push_back(a.c_str());
  }
  try {
    tiny::host::ParseOptions(static_cast<int>(argv.size()), argv.data(), {});
  } catch (const tiny::host::UsageError& e) {
    std::string line = e.what();
    if (line.find('\n') != std::string::npos) __builtin_trap();  // one line, always
  }
  return 0;
}
