#include "cron_schedule.h"

#include <cctype>
#include <chrono>
#include <vector>

namespace common_module {
namespace {

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* const* names;  // names[i] is the value lo + i; NULL: none
};

const char* const kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const FieldSpec kFields[5] = {{"minute", 0, 59, nullptr},
                              {"hour", 0, 23, nullptr},
                              {"day-of-month", 1, 31, nullptr},
                              {"month", 1, 12, kMonthNames},
                              {"day-of-week", 0, 7, kDayNames}};

[[noreturn]] void fail(const FieldSpec& f, std::string_view field, const std::string& why) {
  throw std::invalid_argument(std::string(f.name) + " field \"" + std::string(field) + "\": " + why);
}

int parse_value(const FieldSpec& f, std::string_view field, std::string_view v) {
  if (v.empty()) fail(f, field, "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(v[0]))) {
    int n = 0;
    for (char c : v) {
      if (!std::isdigit(static_cast<unsigned char>(c))) fail(f, field, "\"" + std::string(v) + "\" is not a number");
      n = n * 10 + (c - '0');
      if (n > 1000) break;
    }
    if (n < f.lo || n > f.hi)
      fail(f, field, std::to_string(n) + " is out of range " + std::to_string(f.lo) + "-" + std::to_string(f.hi));
    return n;
  }
  if (f.names != nullptr && v.size() == 3) {
    std::string lower;
    for (char c : v) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int count = f.hi - f.lo + (f.names == kDayNames ? 0 : 1);
    for (int i = 0; i < count; ++i)
      if (lower == f.names[i]) return f.lo + i;
  }
  fail(f, field, "\"" + std::string(v) + "\" is not a valid value");
}

// Parses one field into a bit set over [lo, hi].
uint64_t parse_field(const FieldSpec& f, std::string_view field) {
  uint64_t bits = 0;
  size_t start = 0;
  while (true) {
    size_t comma = field.find(',', start);
    std::string_view part = field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part.empty()) fail(f, field, "empty list element");
    std::string_view base = part;
    int step = 1;
    bool has_step = false;
    if (size_t slash = part.find('/'); slash != std::string_view::npos) {
      base = part.substr(0, slash);
      std::string_view s = part.substr(slash + 1);
      if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string_view::npos)
        fail(f, field, "step \"" + std::string(s) + "\" is not a positive number");
      step = std::stoi(std::string(s));
      if (step < 1 || step > f.hi) fail(f, field, "step " + std::to_string(step) + " is out of range 1-" + std::to_string(f.hi));
      has_step = true;
    }
    int lo, hi;
    if (base == "*") {
      lo = f.lo;
      hi = f.hi;
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      lo = parse_value(f, field, base.substr(0, dash));
      hi = parse_value(f, field, base.substr(dash + 1));
      if (lo > hi) fail(f, field, "range " + std::string(base) + " runs backwards");
    } else {
      lo = parse_value(f, field, base);
      hi = has_step ? f.hi : lo;
    }
    for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
    if (comma == std::string_view::npos) return bits;
    start = comma + 1;
  }
}

std::string_view expand_macro(std::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  throw std::invalid_argument("macro \"" + std::string(text) +
                              "\" is not one of @yearly @annually @monthly @weekly @daily @midnight @hourly");
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

constexpr int kSearchDays = 9 * 366;

}  // namespace

CronSchedule CronSchedule::Parse(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) fields.push_back(text.substr(start, i - start));
  }
  if (fields.size() == 1 && !fields[0].empty() && fields[0][0] == '@') return Parse(expand_macro(fields[0]));
  if (fields.size() != 5)
    throw std::invalid_argument("\"" + std::string(text) +
                                "\" must have 5 fields (minute hour day-of-month month day-of-week), got " +
                                std::to_string(fields.size()));
  CronSchedule s;
  s.minutes_ = parse_field(kFields[0], fields[0]);
  s.hours_ = static_cast<uint32_t>(parse_field(kFields[1], fields[1]));
  s.days_of_month_ = static_cast<uint32_t>(parse_field(kFields[2], fields[2]));
  s.months_ = static_cast<uint16_t>(parse_field(kFields[3], fields[3]));
  uint64_t dow = parse_field(kFields[4], fields[4]);
  if (dow & (uint64_t{1} << 7)) dow |= 1;  // 7 is Sunday too
  s.days_of_week_ = static_cast<uint8_t>(dow & 0x7f);
  s.dom_star_ = fields[2][0] == '*';
  s.dow_star_ = fields[4][0] == '*';
  return s;
}

bool CronSchedule::DayMatches(int64_t days_since_epoch) const {
  using namespace std::chrono;
  sys_days day{days{days_since_epoch}};
  year_month_day ymd{day};
  unsigned wd = weekday{day}.c_encoding();
  if (!(months_ >> static_cast<unsigned>(ymd.month()) & 1)) return false;
  bool dom = days_of_month_ >> static_cast<unsigned>(ymd.day()) & 1;
  bool dow = days_of_week_ >> wd & 1;
  return dom_star_ || dow_star_ ? dom && dow : dom || dow;
}

bool CronSchedule::Matches(int64_t epoch_seconds) const {
  int64_t day = floor_div(epoch_seconds, 86400);
  int64_t second_of_day = epoch_seconds - day * 86400;
  return DayMatches(day) && (hours_ >> (second_of_day / 3600) & 1) && (minutes_ >> (second_of_day % 3600 / 60) & 1);
}

std::optional<int64_t> CronSchedule::NextAfter(int64_t epoch_seconds) const {
  int64_t start = (floor_div(epoch_seconds, 60) + 1) * 60;
  int64_t first_day = floor_div(start, 86400);
  int64_t start_second = start - first_day * 86400;
  int start_hour = static_cast<int>(start_second / 3600);
  int start_minute = static_cast<int>(start_second % 3600 / 60);
  for (int i = 0; i < kSearchDays; ++i) {
    int64_t day = first_day + i;
    if (!DayMatches(day)) continue;
    for (int h = i == 0 ? start_hour : 0; h < 24; ++h) {
      if (!(hours_ >> h & 1)) continue;
      for (int m = (i == 0 && h == start_hour) ? start_minute : 0; m < 60; ++m)
        if (minutes_ >> m & 1) return day * 86400 + h * 3600 + m * 60;
    }
  }
  return std::nullopt;
}

}  // namespace common_module
