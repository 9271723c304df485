// What the admin listener reads from a running host. Every part exists
// before the listener starts and outlives it (Host starts it last in Serve
// and stops it first in Stop); each is read through its thread-safe
// accessors only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "host/flow/flow_loader.h"
#include "host/loader/module_registry.h"
#include "host/net/client_pool.h"
#include "host/net/server.h"
#include "host/runtime/scheduler.h"

namespace tiny::host {

struct AdminSources {
  const ModuleRegistry& modules;
  const Scheduler& scheduler;
  const ModuleServer& server;
  const ClientPool& pool;
  std::chrono::system_clock::time_point started;
  // The flows running now (replaced by a reload). [thread: any]
  std::function<std::shared_ptr<const FlowSet>()> flows;
};

}  // namespace tiny::host
