// The tiny_host_api table the host hands to every plugin's init.
#pragma once

#include <tiny/plugin.h>

namespace tiny::host {

// The one host table (static storage, valid for the whole process).
const tiny_host_api* HostApi();

}  // namespace tiny::host
