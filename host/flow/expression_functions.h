// The expression language's built-in functions (length, upper, split,
// parsejson, ...): docs/expressions.md lists them. Each is a pure function
// of its already-evaluated arguments; the parser checks the argument count
// against the spec, so an implementation may index its arguments freely.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <span>
#include <string_view>

namespace tiny::host::expression_detail {

using Args = std::span<const nlohmann::json* const>;
using FunctionImpl = nlohmann::json (*)(Args);

struct FunctionSpec {
  std::string_view name;
  size_t min_args;
  size_t max_args;
  FunctionImpl impl;  // throws EvaluationError naming the function
};

// The most arguments any built-in takes.
inline constexpr size_t kMaxFunctionArgs = 3;

// The built-in called `name`, or null. The table is static: the pointer
// stays valid for the life of the process.
const FunctionSpec* FindFunction(std::string_view name);

}  // namespace tiny::host::expression_detail
