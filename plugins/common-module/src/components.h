// The common-module components, one factory per component file.
#pragma once

#include <cstdint>

#include <tiny/plugin.hpp>

namespace common_module {

tiny::ComponentSpec transform_spec();
tiny::ComponentSpec debug_spec();
tiny::ComponentSpec ticker_spec();
tiny::ComponentSpec router_spec();
tiny::ComponentSpec delay_spec();
tiny::ComponentSpec signal_spec();
tiny::ComponentSpec inject_spec();
tiny::ComponentSpec array_split_spec();
tiny::ComponentSpec collect_spec();
tiny::ComponentSpec array_get_spec();
tiny::ComponentSpec group_by_spec();
tiny::ComponentSpec kv_spec();
tiny::ComponentSpec async_spec();
tiny::ComponentSpec cron_spec();
tiny::ComponentSpec retry_spec();

// Test seam: the wall clock cron reads, in ms since the Unix epoch (UTC).
// nullptr restores the system clock. The host offers no clock extension,
// and timers alone cannot tell cron which minute it is. [thread: any]
using WallClockMs = int64_t (*)();
void set_cron_clock_for_testing(WallClockMs clock);

}  // namespace common_module
