#include <atomic>
#include <chrono>

#include "components.h"
#include "cron_schedule.h"
#include "test_support.h"

using namespace tiny::test;
using common_module::CronSchedule;

namespace {

// Seconds since the epoch of a UTC civil time.
int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  namespace c = std::chrono;
  c::sys_days date = c::year{y} / c::month{mo} / c::day{d};
  return date.time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + s;
}

int64_t next(const char* schedule, int64_t after) {
  auto n = CronSchedule::Parse(schedule).NextAfter(after);
  REQUIRE(n.has_value());
  return *n;
}

std::string parse_error(const char* schedule) {
  try {
    CronSchedule::Parse(schedule);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(parsed)";
}

// A wall clock that follows the harness clock from a chosen start.
std::atomic<int64_t> g_offset_ms{0};
Harness* g_harness = nullptr;
int64_t fake_clock() { return g_offset_ms.load() + static_cast<int64_t>(g_harness->now_ms()); }

struct FakeClock {
  FakeClock(Harness& h, int64_t start_ms) {
    g_harness = &h;
    g_offset_ms = start_ms;
    common_module::set_cron_clock_for_testing(&fake_clock);
  }
  ~FakeClock() {
    common_module::set_cron_clock_for_testing(nullptr);
    g_harness = nullptr;
  }
  void jump(int64_t ms) { g_offset_ms += ms; }
};

constexpr uint64_t kMinute = 60'000;

}  // namespace

TEST_CASE("cron schedule: the test calendar is right") {
  CHECK(utc(2024, 1, 1) == 1704067200);
  CHECK(utc(2028, 2, 29) == 1835395200);
}

TEST_CASE("cron schedule: next minute strictly after the given time") {
  CHECK(next("* * * * *", utc(2024, 1, 1, 0, 0, 30)) == utc(2024, 1, 1, 0, 1));
  CHECK(next("* * * * *", utc(2024, 1, 1, 0, 1)) == utc(2024, 1, 1, 0, 2));
  CHECK(next("*/15 * * * *", utc(2024, 1, 1, 0, 0, 30)) == utc(2024, 1, 1, 0, 15));
  CHECK(next("*/15 * * * *", utc(2024, 1, 1, 0, 45)) == utc(2024, 1, 1, 1, 0));
  CHECK(next("5/20 * * * *", utc(2024, 1, 1, 0, 30)) == utc(2024, 1, 1, 0, 45));
  CHECK(next("0,30 8-9 * * *", utc(2024, 1, 1, 9, 30)) == utc(2024, 1, 2, 8, 0));
  CHECK(next("0 0 1 1 *", utc(2024, 12, 31, 23, 59)) == utc(2025, 1, 1));
  CHECK(next("0 0 31 * *", utc(2024, 2, 1)) == utc(2024, 3, 31));
  CHECK(next("30 2 29 2 *", utc(2024, 3, 1)) == utc(2028, 2, 29, 2, 30));
  CHECK(next("0 0 1-10/3 * *", utc(2024, 1, 4)) == utc(2024, 1, 7));
}

TEST_CASE("cron schedule: days of week, names and 7 for Sunday") {
  // 2024-01-05 is a Friday.
  CHECK(next("0 9 * * 1-5", utc(2024, 1, 5, 10)) == utc(2024, 1, 8, 9));
  CHECK(next("0 0 * * 7", utc(2024, 1, 1)) == utc(2024, 1, 7));
  CHECK(next("0 0 * * sun", utc(2024, 1, 1)) == utc(2024, 1, 7));
  CHECK(next("0 0 * * MON-wed", utc(2024, 1, 3, 12)) == utc(2024, 1, 8));
  CHECK(next("0 12 1 jul,Dec *", utc(2024, 1, 1)) == utc(2024, 7, 1, 12));
}

TEST_CASE("cron schedule: both day fields restricted match either; a * field makes them both apply") {
  // The 13th or any Friday.
  CHECK(next("0 0 13 * 5", utc(2024, 1, 1)) == utc(2024, 1, 5));
  CHECK(next("0 0 13 * 5", utc(2024, 1, 12)) == utc(2024, 1, 13));
  // Odd days (the field starts with *) and Mondays: both must hold.
  CHECK(next("0 0 */2 * 1", utc(2024, 1, 1)) == utc(2024, 1, 15));
}

TEST_CASE("cron schedule: macros") {
  CHECK(next("@hourly", utc(2024, 1, 1, 0, 30)) == utc(2024, 1, 1, 1));
  CHECK(next("@daily", utc(2024, 1, 1, 0, 30)) == utc(2024, 1, 2));
  CHECK(next("@midnight", utc(2024, 1, 1, 0, 30)) == utc(2024, 1, 2));
  CHECK(next("@weekly", utc(2024, 1, 1)) == utc(2024, 1, 7));
  CHECK(next("@monthly", utc(2024, 1, 15)) == utc(2024, 2, 1));
  CHECK(next("@yearly", utc(2024, 1, 15)) == utc(2025, 1, 1));
  CHECK(next("@annually", utc(2024, 1, 15)) == utc(2025, 1, 1));
}

TEST_CASE("cron schedule: Matches tells whether a minute matches") {
  auto s = CronSchedule::Parse("*/10 12 * * *");
  CHECK(s.Matches(utc(2024, 1, 1, 12, 20, 59)));
  CHECK_FALSE(s.Matches(utc(2024, 1, 1, 12, 21)));
  CHECK_FALSE(s.Matches(utc(2024, 1, 1, 13, 20)));
}

TEST_CASE("cron schedule: a schedule that never matches has no next time") {
  CHECK_FALSE(CronSchedule::Parse("0 0 30 2 *").NextAfter(utc(2024, 1, 1)).has_value());
  CHECK_FALSE(CronSchedule::Parse("0 0 31 4,6,9,11 *").NextAfter(utc(2024, 1, 1)).has_value());
}

TEST_CASE("cron schedule: errors name the field and the value") {
  CHECK(contains(parse_error("* * * *"), "must have 5 fields"));
  CHECK(contains(parse_error(""), "must have 5 fields"));
  CHECK(contains(parse_error("* * * * * *"), "got 6"));
  CHECK(contains(parse_error("60 * * * *"), "minute field \"60\": 60 is out of range 0-59"));
  CHECK(contains(parse_error("* 24 * * *"), "hour field"));
  CHECK(contains(parse_error("* * 0 * *"), "day-of-month field"));
  CHECK(contains(parse_error("* * * 13 *"), "month field"));
  CHECK(contains(parse_error("* * * * 8"), "day-of-week field"));
  CHECK(contains(parse_error("5-1 * * * *"), "runs backwards"));
  CHECK(contains(parse_error("*/0 * * * *"), "step 0 is out of range"));
  CHECK(contains(parse_error("*/x * * * *"), "step \"x\""));
  CHECK(contains(parse_error("*/ * * * *"), "step"));
  CHECK(contains(parse_error("a * * * *"), "\"a\" is not a valid value"));
  CHECK(contains(parse_error("1x * * * *"), "is not a number"));
  CHECK(contains(parse_error("1,,2 * * * *"), "empty list element"));
  CHECK(contains(parse_error("* * * FOO *"), "\"FOO\" is not a valid value"));
  CHECK(contains(parse_error("* * * * sun-"), "a value is missing"));
  CHECK(contains(parse_error("@reboot"), "@reboot"));
  CHECK(parse_error(" 0  0\t* * * ") == "(parsed)");
}

TEST_CASE("cron: emits its context at each matching minute") {
  Harness h(tiny_plugin_entry, "cron");
  FakeClock clock(h, utc(2024, 1, 1, 0, 0, 30) * 1000);
  REQUIRE(h.configure({{"schedule", "*/15 * * * *"}, {"context", {{"job", "report"}}}}).ok());
  CHECK(h.pending_timers() == 1);
  h.advance(14 * kMinute + 29'999);
  CHECK(h.emitted().empty());
  h.advance(1);  // 00:15:00
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].port == "out");
  CHECK(h.emitted()[0].data == Json{{"job", "report"}});
  CHECK_FALSE(h.emitted()[0].has_cause);
  h.advance(15 * kMinute - 1);
  CHECK(h.emitted().size() == 1);
  h.advance(1);  // 00:30:00
  CHECK(h.emitted().size() == 2);
  h.advance(60 * kMinute);
  CHECK(h.emitted().size() == 6);
  CHECK(h.pending_timers() == 1);
}

TEST_CASE("cron: a far minute is reached in hops of at most an hour") {
  Harness h(tiny_plugin_entry, "cron");
  FakeClock clock(h, utc(2024, 1, 1, 0, 0, 30) * 1000);
  REQUIRE(h.configure({{"schedule", "0 0 * * *"}}).ok());
  for (int hour = 0; hour < 23; ++hour) {
    h.advance(60 * kMinute);
    CHECK(h.pending_timers() == 1);
  }
  h.advance(59 * kMinute + 29'999);
  CHECK(h.emitted().empty());
  h.advance(1);  // 2024-01-02 00:00:00
  REQUIRE(h.emitted().size() == 1);
  CHECK(h.emitted()[0].raw == "null");
}

TEST_CASE("cron: a clock that jumps ahead fires once, then follows the schedule") {
  Harness h(tiny_plugin_entry, "cron");
  FakeClock clock(h, utc(2024, 1, 1, 0, 0, 30) * 1000);
  REQUIRE(h.configure({{"schedule", "*/15 * * * *"}}).ok());
  clock.jump(60 * 60'000);  // e.g. resumed from suspend an hour later
  h.advance(14 * kMinute + 30'000);  // wall clock now 01:15:00
  CHECK(h.emitted().size() == 1);    // the missed 00:15..01:00 are not replayed
  h.advance(15 * kMinute);           // 01:30
  CHECK(h.emitted().size() == 2);
}

TEST_CASE("cron: a clock that jumps back does not fire early") {
  Harness h(tiny_plugin_entry, "cron");
  FakeClock clock(h, utc(2024, 1, 1, 0, 0, 30) * 1000);
  REQUIRE(h.configure({{"schedule", "*/15 * * * *"}}).ok());
  clock.jump(-10 * 60'000);
  h.advance(14 * kMinute + 30'000);  // wall clock now 00:05:00, due 00:15
  CHECK(h.emitted().empty());
  CHECK(h.pending_timers() == 1);
  h.advance(10 * kMinute);  // 00:15:00
  CHECK(h.emitted().size() == 1);
}


TEST_CASE("cron: settings are validated") {
  auto error_of_settings = [](const Json& settings) {
    Harness h(tiny_plugin_entry, "cron");
    FakeClock clock(h, utc(2024, 1, 1) * 1000);
    std::string error = h.configure(settings).error;
    CHECK(h.pending_timers() == 0);
    return error;
  };
  CHECK(contains(error_of_settings({{"schedule", "61 * * * *"}}), "setting 'schedule': minute field \"61\""));
  CHECK(contains(error_of_settings({{"schedule", "* * *"}}), "5 fields"));
  CHECK(contains(error_of_settings({{"schedule", 5}}), "setting 'schedule': must be a string"));
  CHECK(contains(error_of_settings({{"schedule", "0 0 30 2 *"}}), "never matches"));
  CHECK(contains(error_of_settings({{"timezone", "UTC"}}), "unknown setting"));
  Harness h(tiny_plugin_entry, "cron");
  FakeClock clock(h, utc(2024, 1, 1) * 1000);
  CHECK(h.configure().ok());
}

TEST_CASE("cron: destroy stops it") {
  Harness h(tiny_plugin_entry, "cron");
  FakeClock clock(h, utc(2024, 1, 1) * 1000);
  REQUIRE(h.configure().ok());
  h.destroy();
  h.advance(10 * kMinute);
  CHECK(h.emitted().empty());
}
