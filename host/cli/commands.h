// The CLI's commands. Each returns the process exit code: 0 success,
// 1 runtime failure, 2 usage or configuration error.
#pragma once

#include "host/cli/options.h"

namespace tiny::host {

int RunHost(const RunOptions& options);
int RunSend(const SendOptions& options);
int RunInspect(const InspectOptions& options);
int RunGraph(const GraphOptions& options);

}  // namespace tiny::host
