#include "host/base/json_check.h"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <string>

namespace tiny::host {
namespace {

// A thread's parser keeps its buffers for the next message up to this size;
// after a larger one they go back (a 4 MiB message grows them to ~50 MiB).
constexpr size_t kKeptCapacity = 1 << 20;

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

Result CheckJsonText(std::string_view data) {
  if (data.empty()) return Result::Ok();
  simdjson::dom::parser& parser = ThreadParser();
  // The parser copies the bytes into its own padded buffer, kept for the
  // next call: no allocation per message (this runs on every emit).
  auto error = parser.parse(data.data(), data.size(), /*realloc_if_needed=*/true).error();
  const size_t max_depth = parser.max_depth();
  if (parser.capacity() > kKeptCapacity) parser = simdjson::dom::parser();
  if (!error) return Result::Ok();
  // Components read JSON with nlohmann::json, which takes integers beyond
  // 64 bits (as doubles) where simdjson stops: for a number simdjson
  // refuses, nlohmann decides, so the check and the components agree. So
  // it does when simdjson could not get the memory for a huge text (its
  // tape is several times the text; nlohmann's accept keeps no DOM): that
  // says nothing about the bytes.
  const bool undecided =
      error == simdjson::NUMBER_ERROR || error == simdjson::MEMALLOC || error == simdjson::CAPACITY;
  if (undecided && nlohmann::json::accept(data)) return Result::Ok();
  // The two a user can act on get plain words; the rest simdjson's.
  if (error == simdjson::DEPTH_ERROR) return Result::Error("nested deeper than " + std::to_string(max_depth) + " levels");
  if (error == simdjson::UTF8_ERROR) return Result::Error("not valid UTF-8");
  return Result::Error(simdjson::error_message(error));
}

size_t JsonCheckCapacity() { return ThreadParser().capacity(); }

}  // namespace tiny::host
