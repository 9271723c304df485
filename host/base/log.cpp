#include "host/base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "host/base/trace_context.h"

namespace tiny::host {
namespace {

// The level names of --log-level (spdlog itself says "warning" and
// "critical"), so that what a user sets is what the lines say.
const char* LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

// %* in the text pattern: the level name as above.
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string_view name = LevelName(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelFlag>(); }
};

// %& in the text pattern: " trace_id=… span_id=…" while the thread works
// for a traced message (read from a thread-local: no lock, no allocation).
class TraceFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&, spdlog::memory_buf_t& dest) override {
    const TraceContext* trace = CurrentTrace();
    if (!trace) return;
    auto append = [&](std::string_view s) { dest.append(s.data(), s.data() + s.size()); };
    append(" trace_id=");
    append(trace->trace_view());
    append(" span_id=");
    append(trace->span_view());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<TraceFlag>(); }
};

// One JSON object per line, with the message escaped properly.
class JsonLineSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto t = std::chrono::system_clock::to_time_t(msg.time);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    nlohmann::json line = {{"time", stamp},
                           {"level", LevelName(msg.level)},
                           {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    // The sink runs on the logging thread (the logger is synchronous), so
    // this is the trace of the work that logged.
    if (const TraceContext* trace = CurrentTrace()) {
      line["trace_id"] = trace->trace_view();
      line["span_id"] = trace->span_view();
    }
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  void flush_() override { std::fflush(stdout); }
};

}  // namespace

void ConfigureLogging(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw std::invalid_argument("--log-level: unknown level '" + level + "' (trace, debug, info, warn, error, off)");
  std::shared_ptr<spdlog::logger> logger;
  if (format == "text") {
    logger = std::make_shared<spdlog::logger>("tinyhost", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<LevelFlag>('*').add_flag<TraceFlag>('&').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %* %v%&");
    logger->set_formatter(std::move(formatter));
  } else if (format == "json") {
    logger = std::make_shared<spdlog::logger>("tinyhost", std::make_shared<JsonLineSink>());
  } else {
    throw std::invalid_argument("--log-format: unknown format '" + format + "' (text, json)");
  }
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

std::string LogValue(std::string_view value) {
  bool quote = value.empty();
  for (char c : value)
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') quote = true;
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace tiny::host
