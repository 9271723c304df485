// The edge data-mapping expression language: a JSONPath rooted at `$`
// with literals, arithmetic, comparison, logic, a ternary and a small
// function set. docs/expressions.md is the language reference.
//
// Parse once when a flow loads, Evaluate once per message. An Expression
// is immutable after Parse: Evaluate is const, touches no shared mutable
// state and may run on any number of threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tiny::host {

// Thrown by Expression::Parse. `position` is the 1-based character
// (UTF-8 code point) position in the expression text where the problem
// was found; one past the last character means "at the end".
struct ExpressionError : std::runtime_error {
  ExpressionError(size_t position, std::string message);
  size_t position;
  std::string message;  // without the "at position N: " prefix
};

// Thrown by Expression::Evaluate: a type error, a division by zero, a bad
// function argument. The message names the operator or the function.
struct EvaluationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
struct ExpressionNode;
}

class Expression {
 public:
  // Longest accepted expression text, in bytes.
  static constexpr size_t kMaxLength = 4096;
  // Deepest accepted nesting of parentheses, function arguments, ternary
  // branches and unary operators. Keeps parsing and evaluation recursion
  // bounded whatever the input.
  static constexpr int kMaxDepth = 64;

  // Throws ExpressionError for a syntax error, an unknown function, a
  // wrong number of function arguments, or an expression over the limits.
  static Expression Parse(std::string_view text);

  // Evaluates with `$` bound to `root`. Throws EvaluationError on a
  // runtime error; never crashes on any JSON input.
  nlohmann::json Evaluate(const nlohmann::json& root) const;

  // Evaluates and appends the value's text form (see ValueToText) to
  // `*out`, without copying the value when it is a part of `root`.
  // On EvaluationError nothing has been appended.
  void AppendText(const nlohmann::json& root, std::string* out) const;

  // The text this expression was parsed from.
  const std::string& Text() const { return text_; }

  // True iff the expression is `$` alone (the whole input), whitespace aside.
  bool IsWholeInput() const { return whole_input_; }

 private:
  Expression(std::shared_ptr<const detail::ExpressionNode> root, std::string text,
             bool whole_input);

  std::shared_ptr<const detail::ExpressionNode> root_;
  std::string text_;
  bool whole_input_;
};

// The text form used by interpolation, string() and join(): strings
// without quotes, integers without ".0", other numbers in shortest
// round-trip form, true/false, null as "", arrays and objects as compact
// JSON.
std::string ValueToText(const nlohmann::json& value);
void AppendValueText(const nlohmann::json& value, std::string* out);

}  // namespace tiny::host
