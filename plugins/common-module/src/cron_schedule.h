// CronSchedule: a parsed 5-field cron expression ("m h dom mon dow"), in
// UTC, and the search for its next matching minute.
//
// Fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 or
// JAN-DEC, day of week 0-7 or SUN-SAT (0 and 7 are Sunday). Each field is a
// comma list of `*`, `N`, `N-M`, each optionally `/STEP`; `N/STEP` means
// N to the field's maximum. Names are case-insensitive. Macros: @yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly.
// As in Vixie cron, when both day fields are restricted (neither starts
// with `*`) a day matches if either matches; otherwise both must.
//
// Immutable after Parse; safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace common_module {

class CronSchedule {
 public:
  // Throws std::invalid_argument naming the field and the value (the
  // caller names the setting: "setting 'schedule': minute field ...").
  static CronSchedule Parse(std::string_view text);

  // The first minute boundary strictly after `epoch_seconds` that matches,
  // in seconds since the Unix epoch; nullopt when none does within nine
  // years (then none ever does: February 29 recurs within eight).
  std::optional<int64_t> NextAfter(int64_t epoch_seconds) const;

  // True iff the minute containing `epoch_seconds` matches.
  bool Matches(int64_t epoch_seconds) const;

 private:
  bool DayMatches(int64_t days_since_epoch) const;

  uint64_t minutes_ = 0;  // bit i: minute i
  uint32_t hours_ = 0;
  uint32_t days_of_month_ = 0;  // bits 1..31
  uint16_t months_ = 0;         // bits 1..12
  uint8_t days_of_week_ = 0;    // bits 0..6, 0 = Sunday
  bool dom_star_ = false;       // the field started with '*'
  bool dow_star_ = false;
};

}  // namespace common_module
