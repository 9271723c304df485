// libFuzzer: flow parsing and validation (YAML, names, edges, mapping
// compilation, cycle finding) reports errors as FlowError and never crashes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "host/flow/cycles.h"
#include "host/flow/flow_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tiny::host::ModuleRegistry registry;  // no plugins: every module is remote
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto flows = tiny::host::ParseFlows({{"fuzz.yaml", text}}, registry, [](std::string_view) { return true; });
    (void)tiny::host::CycleWarnings(flows);
  } catch (const tiny::host::FlowError&) {
  }
  return 0;
}
