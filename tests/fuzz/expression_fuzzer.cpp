// libFuzzer: the expression parser and evaluator must never crash, hang or
// leak on any input; errors are exceptions of the two documented types.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "host/flow/expression.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::json kInput = nlohmann::json::parse(
      R"({"a":1,"b":[1,2,{"c":"x"}],"s":"Hello","n":null,"t":true,"f":2.5,"o":{"k":"v"}})");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto expr = tiny::host::Expression::Parse(text);
    try {
      (void)expr.Evaluate(kInput);
    } catch (const tiny::host::EvaluationError&) {
    }
  } catch (const tiny::host::ExpressionError&) {
  }
  return 0;
}
