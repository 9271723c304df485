// Expression: a recursive-descent parser building an immutable AST, and a
// tree-walking evaluator over nlohmann::json.
//
// Sections: evaluation values, AST nodes, parser, public API. The
// built-in functions live in expression_functions.cpp, the text and number
// helpers both use in expression_values.h.
//
// Why this file is over 400 lines: it is one recursive-descent parser and
// the AST it builds; the grammar's precedence levels call each other and
// build these node types, so splitting the file would scatter the grammar.
//
// Why the AST has this shape:
// - Chains of same-precedence binary operators (`a + b - c`) and of `&&` /
//   `||` are one node holding a list, so the tree height grows only with
//   syntactic nesting, which the parser caps at kMaxDepth. Evaluation and
//   destruction recursion are therefore bounded for any accepted text.
// - Path segments are parsed once; a lookup walks std::map / std::vector
//   without allocating.
// - Evaluation returns a Value that either borrows (a part of the input, a
//   literal in the AST) or owns its json, so `length($.items)` or
//   `$.a == $.b` copy nothing.
#include "host/flow/expression.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "host/flow/expression_functions.h"
#include "host/flow/expression_values.h"

namespace tiny::host {

using json = nlohmann::json;

ExpressionError::ExpressionError(size_t position_in, std::string message_in)
    : std::runtime_error("at position " + std::to_string(position_in) + ": " + message_in),
      position(position_in),
      message(std::move(message_in)) {}

namespace {

// ---------------------------------------------------------------------------
// Text and number helpers

const json kNull;  // what a missing field evaluates to

}  // namespace

using namespace expression_detail;

namespace {

// ---------------------------------------------------------------------------
// Evaluation values

// The result of evaluating a node: borrows a json that outlives the
// evaluation (part of the input or of the AST), or owns a computed one.
class Value {
 public:
  static Value Borrow(const json& v) {
    Value r;
    r.borrowed_ = &v;
    return r;
  }
  static Value Own(json v) {
    Value r;
    r.owned_ = std::move(v);
    return r;
  }
  const json& get() const { return borrowed_ ? *borrowed_ : owned_; }
  bool owns() const { return borrowed_ == nullptr; }
  json& owned() { return owned_; }  // only when owns()
  json Release() && { return borrowed_ ? json(*borrowed_) : std::move(owned_); }

 private:
  const json* borrowed_ = nullptr;
  json owned_;
};

}  // namespace

// ---------------------------------------------------------------------------
// AST nodes

namespace detail {
struct ExpressionNode {
  virtual ~ExpressionNode() = default;
  virtual Value Eval(const json& root) const = 0;
};
}  // namespace detail

namespace {

using Node = detail::ExpressionNode;
using NodePtr = std::unique_ptr<const Node>;

struct LiteralNode final : Node {
  explicit LiteralNode(json v) : value(std::move(v)) {}
  Value Eval(const json&) const override { return Value::Borrow(value); }
  json value;
};

struct PathSegment {
  bool is_index;
  int64_t index;      // when is_index; negative counts from the end
  std::string field;  // otherwise
};

// Applies one segment. A missing field, an index out of range, or a
// segment applied to the wrong kind of value yields null, never an error.
const json* Step(const json* current, const PathSegment& segment) {
  if (segment.is_index) {
    if (!current->is_array()) return &kNull;
    const auto& array = current->get_ref<const json::array_t&>();
    int64_t size = static_cast<int64_t>(array.size());
    int64_t i = segment.index < 0 ? segment.index + size : segment.index;
    if (i < 0 || i >= size) return &kNull;
    return &array[static_cast<size_t>(i)];
  }
  if (!current->is_object()) return &kNull;
  const auto& object = current->get_ref<const json::object_t&>();
  auto it = object.find(segment.field);
  return it == object.end() ? &kNull : &it->second;
}

// `$...` when base is null, else `(expr)...` or `fn(...)...`.
struct PathNode final : Node {
  NodePtr base;
  std::vector<PathSegment> segments;

  Value Eval(const json& root) const override {
    if (!base) {
      const json* current = &root;
      for (const auto& segment : segments) current = Step(current, segment);
      return Value::Borrow(*current);
    }
    Value start = base->Eval(root);
    const json* current = &start.get();
    for (const auto& segment : segments) current = Step(current, segment);
    if (!start.owns()) return Value::Borrow(*current);
    return Value::Own(*current);  // copy out before `start` dies
  }
};

struct NotNode final : Node {
  NodePtr operand;
  Value Eval(const json& root) const override {
    return Value::Own(json(!Truthy(operand->Eval(root).get())));
  }
};

struct NegateNode final : Node {
  NodePtr operand;
  Value Eval(const json& root) const override {
    return Value::Own(Negate(operand->Eval(root).get()));
  }
};

// `a && b && c` or `a || b || c`: short-circuit, always a bool.
struct LogicalNode final : Node {
  bool is_and;
  std::vector<NodePtr> operands;
  Value Eval(const json& root) const override {
    for (const auto& operand : operands) {
      bool truthy = Truthy(operand->Eval(root).get());
      if (is_and && !truthy) return Value::Own(json(false));
      if (!is_and && truthy) return Value::Own(json(true));
    }
    return Value::Own(json(is_and));
  }
};

struct TernaryNode final : Node {
  NodePtr condition, when_true, when_false;
  Value Eval(const json& root) const override {
    return Truthy(condition->Eval(root).get()) ? when_true->Eval(root) : when_false->Eval(root);
  }
};

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMod, kEq, kNe, kLt, kLe, kGt, kGe };

const char* OpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "+";
    case BinaryOp::kSub: return "-";
    case BinaryOp::kMul: return "*";
    case BinaryOp::kDiv: return "/";
    case BinaryOp::kMod: return "%";
    case BinaryOp::kEq: return "==";
    case BinaryOp::kNe: return "!=";
    case BinaryOp::kLt: return "<";
    case BinaryOp::kLe: return "<=";
    case BinaryOp::kGt: return ">";
    case BinaryOp::kGe: return ">=";
  }
  return "?";
}

[[noreturn]] void ThrowOperandTypes(BinaryOp op, const json& a, const json& b) {
  throw EvaluationError(std::string("operator '") + OpName(op) + "' cannot be applied to " +
                        TypeName(a) + " and " + TypeName(b));
}

json Arithmetic(BinaryOp op, const json& a, const json& b) {
  Number x, y;
  if (!ToNumber(a, &x) || !ToNumber(b, &y)) ThrowOperandTypes(op, a, b);
  bool both_int = x.is_int && y.is_int;
  int64_t r;
  switch (op) {
    case BinaryOp::kAdd:
      if (both_int && !__builtin_add_overflow(x.i, y.i, &r)) return json(r);
      return FiniteDouble(x.AsDouble() + y.AsDouble());
    case BinaryOp::kSub:
      if (both_int && !__builtin_sub_overflow(x.i, y.i, &r)) return json(r);
      return FiniteDouble(x.AsDouble() - y.AsDouble());
    case BinaryOp::kMul:
      if (both_int && !__builtin_mul_overflow(x.i, y.i, &r)) return json(r);
      return FiniteDouble(x.AsDouble() * y.AsDouble());
    case BinaryOp::kDiv:
      if (y.AsDouble() == 0.0) throw EvaluationError("division by zero");
      if (both_int && y.i != -1 && x.i % y.i == 0) return json(x.i / y.i);
      if (both_int && y.i == -1 && x.i != std::numeric_limits<int64_t>::min()) return json(-x.i);
      return FiniteDouble(x.AsDouble() / y.AsDouble());
    case BinaryOp::kMod:
      if (y.AsDouble() == 0.0) throw EvaluationError("modulo by zero");
      if (both_int) return json(y.i == -1 ? int64_t{0} : x.i % y.i);
      return FiniteDouble(std::fmod(x.AsDouble(), y.AsDouble()));
    default: ThrowOperandTypes(op, a, b);
  }
}

bool Compare(BinaryOp op, const json& a, const json& b) {
  int order;  // <0, 0, >0
  Number x, y;
  if (ToNumber(a, &x) && ToNumber(b, &y)) {
    if (x.is_int && y.is_int) {
      order = x.i < y.i ? -1 : (x.i > y.i ? 1 : 0);
    } else {
      double p = x.AsDouble(), q = y.AsDouble();
      order = p < q ? -1 : (p > q ? 1 : 0);
    }
  } else if (a.is_string() && b.is_string()) {
    order = a.get_ref<const json::string_t&>().compare(b.get_ref<const json::string_t&>());
  } else {
    ThrowOperandTypes(op, a, b);
  }
  switch (op) {
    case BinaryOp::kLt: return order < 0;
    case BinaryOp::kLe: return order <= 0;
    case BinaryOp::kGt: return order > 0;
    default: return order >= 0;
  }
}

// `lhs` is taken by value so that `'a' + $.x + 'b'` appends in place.
Value ApplyBinary(BinaryOp op, Value lhs, const json& b) {
  const json& a = lhs.get();
  switch (op) {
    case BinaryOp::kAdd:
      if (a.is_string() || b.is_string()) {
        if (lhs.owns() && a.is_string()) {
          AppendValueText(b, &lhs.owned().get_ref<json::string_t&>());
          return lhs;
        }
        std::string text;
        AppendValueText(a, &text);
        AppendValueText(b, &text);
        return Value::Own(json(std::move(text)));
      }
      return Value::Own(Arithmetic(op, a, b));
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod: return Value::Own(Arithmetic(op, a, b));
    case BinaryOp::kEq: return Value::Own(json(a == b));
    case BinaryOp::kNe: return Value::Own(json(a != b));
    default: return Value::Own(json(Compare(op, a, b)));
  }
}

// A left-associative chain of operators of one precedence level.
struct BinaryChainNode final : Node {
  struct Link {
    BinaryOp op;
    NodePtr operand;
  };
  NodePtr first;
  std::vector<Link> rest;

  Value Eval(const json& root) const override {
    Value accumulator = first->Eval(root);
    for (const auto& link : rest) {
      Value rhs = link.operand->Eval(root);
      accumulator = ApplyBinary(link.op, std::move(accumulator), rhs.get());
    }
    return accumulator;
  }
};


struct CallNode final : Node {
  const FunctionSpec* function;
  std::vector<NodePtr> args;
  Value Eval(const json& root) const override {
    std::array<Value, kMaxFunctionArgs> values;
    std::array<const json*, kMaxFunctionArgs> pointers{};
    for (size_t i = 0; i < args.size(); ++i) {
      values[i] = args[i]->Eval(root);
      pointers[i] = &values[i].get();
    }
    return Value::Own(function->impl(Args(pointers.data(), args.size())));
  }
};

// ---------------------------------------------------------------------------
// Parser: recursive descent straight over the characters.
//
// Precedence, lowest first: ?: (right-assoc), ||, &&, == !=, < <= > >=,
// + -, * / %, unary ! -, then primaries with path postfixes.

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
// Field names after '.' may also start with a digit or use UTF-8.
bool IsFieldChar(char c) { return IsIdentChar(c) || static_cast<unsigned char>(c) >= 0x80; }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  NodePtr ParseAll() {
    if (text_.size() > Expression::kMaxLength) {
      Fail(Expression::kMaxLength, "expression too long (" + std::to_string(text_.size()) +
                                       " bytes, limit " + std::to_string(Expression::kMaxLength) +
                                       ")");
    }
    SkipSpace();
    if (AtEnd()) Fail(pos_, "empty expression");
    NodePtr node = ParseTernary();
    SkipSpace();
    if (!AtEnd()) FailUnexpected();
    return node;
  }

 private:
  // Counts nesting on entry to a sub-expression or a unary operator.
  class DepthGuard {
   public:
    DepthGuard(Parser* parser) : parser_(parser) {
      if (++parser_->depth_ > Expression::kMaxDepth) {
        parser_->Fail(parser_->pos_, "expression nested too deeply (limit " +
                                         std::to_string(Expression::kMaxDepth) + ")");
      }
    }
    ~DepthGuard() { --parser_->depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser* parser_;
  };

  [[noreturn]] void Fail(size_t byte_offset, std::string message) const {
    size_t position = CountCodePoints(text_.substr(0, std::min(byte_offset, text_.size()))) + 1;
    throw ExpressionError(position, std::move(message));
  }

  [[noreturn]] void FailUnexpected() const {
    if (AtEnd()) Fail(pos_, "unexpected end of expression");
    char c = text_[pos_];
    std::string message;
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "unexpected byte 0x%02X", static_cast<unsigned char>(c));
      message = buf;
    } else {
      message = std::string("unexpected '") + c + "'";
    }
    char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    if (c == '=' && next != '=') message += " (did you mean '=='?)";
    if (c == '&' && next != '&') message += " (did you mean '&&'?)";
    if (c == '|' && next != '|') message += " (did you mean '||'?)";
    Fail(pos_, message);
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void SkipSpace() {
    while (!AtEnd() && IsAsciiSpace(text_[pos_])) ++pos_;
  }
  // Consumes `token` (after whitespace) if it is next and not the start of
  // a longer operator listed in `not_followed_by`.
  bool Accept(std::string_view token, char not_followed_by = '\0') {
    SkipSpace();
    if (text_.substr(pos_, token.size()) != token) return false;
    if (not_followed_by != '\0' && Peek(token.size()) == not_followed_by) return false;
    pos_ += token.size();
    return true;
  }
  void Expect(char c, const char* what) {
    SkipSpace();
    if (Peek() != c || AtEnd()) Fail(pos_, std::string("expected ") + what);
    ++pos_;
  }

  NodePtr ParseTernary() {
    DepthGuard guard(this);
    NodePtr condition = ParseLogical(/*is_and=*/false);
    if (!Accept("?")) return condition;
    auto node = std::make_unique<TernaryNode>();
    node->condition = std::move(condition);
    node->when_true = ParseTernary();
    Expect(':', "':' in conditional expression");
    node->when_false = ParseTernary();
    return node;
  }

  NodePtr ParseLogical(bool is_and) {
    auto next = [&] { return is_and ? ParseEquality() : ParseLogical(true); };
    NodePtr first = next();
    if (!Accept(is_and ? "&&" : "||")) return first;
    auto node = std::make_unique<LogicalNode>();
    node->is_and = is_and;
    node->operands.push_back(std::move(first));
    do {
      node->operands.push_back(next());
    } while (Accept(is_and ? "&&" : "||"));
    return node;
  }

  // Parses `next (op next)*` into one chain node; `match` returns the
  // operator at the cursor (consuming it) or false.
  template <typename Next, typename Match>
  NodePtr ParseChain(Next next, Match match) {
    NodePtr first = next();
    BinaryOp op;
    if (!match(&op)) return first;
    auto node = std::make_unique<BinaryChainNode>();
    node->first = std::move(first);
    do {
      node->rest.push_back({op, next()});
    } while (match(&op));
    return node;
  }

  NodePtr ParseEquality() {
    return ParseChain([&] { return ParseRelational(); },
                      [&](BinaryOp* op) {
                        if (Accept("==")) return *op = BinaryOp::kEq, true;
                        if (Accept("!=")) return *op = BinaryOp::kNe, true;
                        return false;
                      });
  }

  NodePtr ParseRelational() {
    return ParseChain([&] { return ParseAdditive(); },
                      [&](BinaryOp* op) {
                        if (Accept("<=")) return *op = BinaryOp::kLe, true;
                        if (Accept(">=")) return *op = BinaryOp::kGe, true;
                        if (Accept("<")) return *op = BinaryOp::kLt, true;
                        if (Accept(">")) return *op = BinaryOp::kGt, true;
                        return false;
                      });
  }

  NodePtr ParseAdditive() {
    return ParseChain([&] { return ParseMultiplicative(); },
                      [&](BinaryOp* op) {
                        if (Accept("+")) return *op = BinaryOp::kAdd, true;
                        if (Accept("-")) return *op = BinaryOp::kSub, true;
                        return false;
                      });
  }

  NodePtr ParseMultiplicative() {
    return ParseChain([&] { return ParseUnary(); },
                      [&](BinaryOp* op) {
                        if (Accept("*")) return *op = BinaryOp::kMul, true;
                        if (Accept("/")) return *op = BinaryOp::kDiv, true;
                        if (Accept("%")) return *op = BinaryOp::kMod, true;
                        return false;
                      });
  }

  NodePtr ParseUnary() {
    if (Accept("!", '=')) {
      DepthGuard guard(this);
      auto node = std::make_unique<NotNode>();
      node->operand = ParseUnary();
      return node;
    }
    if (Accept("-")) {
      DepthGuard guard(this);
      NodePtr operand = ParseUnary();
      // Fold `-<number literal>` so negative constants cost nothing.
      if (auto* literal = dynamic_cast<const LiteralNode*>(operand.get());
          literal && literal->value.is_number()) {
        return std::make_unique<LiteralNode>(Negate(literal->value));
      }
      auto node = std::make_unique<NegateNode>();
      node->operand = std::move(operand);
      return node;
    }
    return ParsePrimary();
  }

  NodePtr ParsePrimary() {
    SkipSpace();
    if (AtEnd()) FailUnexpected();
    char c = Peek();
    if (c == '(') {
      size_t open = pos_++;
      NodePtr inner = ParseTernary();
      SkipSpace();
      if (Peek() != ')' || AtEnd()) {
        if (!AtEnd()) Fail(pos_, "expected ')'");
        Fail(pos_, "expected ')' to close '(' at position " +
                       std::to_string(CountCodePoints(text_.substr(0, open)) + 1));
      }
      ++pos_;
      return ParsePostfix(std::move(inner));
    }
    if (c == '$') {
      ++pos_;
      return ParsePostfix(nullptr);
    }
    if (IsDigit(c)) return std::make_unique<LiteralNode>(ParseNumber());
    if (c == '\'' || c == '"') return std::make_unique<LiteralNode>(json(ParseString()));
    if (IsIdentStart(c)) return ParseIdentifier();
    FailUnexpected();
  }

  NodePtr ParseIdentifier() {
    size_t start = pos_;
    while (!AtEnd() && IsIdentChar(text_[pos_])) ++pos_;
    std::string_view name = text_.substr(start, pos_ - start);
    size_t after_name = pos_;
    SkipSpace();
    if (Peek() != '(' || AtEnd()) {
      pos_ = after_name;
      if (name == "true") return std::make_unique<LiteralNode>(json(true));
      if (name == "false") return std::make_unique<LiteralNode>(json(false));
      if (name == "null") return std::make_unique<LiteralNode>(json(nullptr));
      Fail(start, "unknown identifier '" + std::string(name) + "' (paths start with '$')");
    }
    const FunctionSpec* function = FindFunction(name);
    if (!function) Fail(start, "unknown function '" + std::string(name) + "'");
    ++pos_;  // '('
    auto node = std::make_unique<CallNode>();
    node->function = function;
    SkipSpace();
    if (Peek() == ')') {
      ++pos_;
    } else {
      while (true) {
        SkipSpace();
        if (node->args.size() == function->max_args) {
          Fail(pos_, TooManyOrFewArgs(*function, "too many"));
        }
        node->args.push_back(ParseTernary());
        SkipSpace();
        if (Peek() == ',' && !AtEnd()) {
          ++pos_;
          continue;
        }
        if (Peek() == ')' && !AtEnd()) {
          ++pos_;
          break;
        }
        Fail(pos_, "expected ',' or ')' in call to " + std::string(name) + "()");
      }
    }
    if (node->args.size() < function->min_args) {
      Fail(start, TooManyOrFewArgs(*function, "too few"));
    }
    return ParsePostfix(std::move(node));
  }

  static std::string TooManyOrFewArgs(const FunctionSpec& f, const char* which) {
    std::string count = std::to_string(f.min_args);
    if (f.max_args != f.min_args) count += " or " + std::to_string(f.max_args);
    return std::string(which) + " arguments: " + std::string(f.name) + "() takes " + count;
  }

  // `.field`, `['field']`, `["field"]`, `[index]` directly after a primary.
  NodePtr ParsePostfix(NodePtr base) {
    std::vector<PathSegment> segments;
    while (!AtEnd() && (Peek() == '.' || Peek() == '[')) {
      if (Peek() == '.') {
        ++pos_;
        size_t start = pos_;
        while (!AtEnd() && IsFieldChar(text_[pos_])) ++pos_;
        if (pos_ == start) Fail(pos_, "expected field name after '.'");
        segments.push_back({false, 0, std::string(text_.substr(start, pos_ - start))});
        continue;
      }
      ++pos_;  // '['
      SkipSpace();
      char c = Peek();
      if (!AtEnd() && (c == '\'' || c == '"')) {
        segments.push_back({false, 0, ParseString()});
      } else if (!AtEnd() && (IsDigit(c) || c == '-')) {
        segments.push_back({true, ParseIndex(), {}});
      } else {
        Fail(pos_, "expected index or quoted field name after '['");
      }
      SkipSpace();
      if (Peek() != ']' || AtEnd()) Fail(pos_, "expected ']'");
      ++pos_;
    }
    if (!base && segments.empty()) {
      auto node = std::make_unique<PathNode>();
      return node;  // `$` alone
    }
    if (segments.empty()) return base;
    auto node = std::make_unique<PathNode>();
    node->base = std::move(base);
    node->segments = std::move(segments);
    return node;
  }

  int64_t ParseIndex() {
    size_t start = pos_;
    if (Peek() == '-') ++pos_;
    if (AtEnd() || !IsDigit(Peek())) Fail(pos_, "expected digits in index");
    while (!AtEnd() && IsDigit(Peek())) ++pos_;
    int64_t value;
    auto [ptr, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, value);
    if (ec != std::errc()) Fail(start, "index out of range");
    if (Peek() == '.' || Peek() == 'e' || Peek() == 'E') Fail(pos_, "index must be an integer");
    return value;
  }

  // digits ('.' digits)? ([eE] [+-]? digits)?; integers that fit int64
  // stay integers, everything else is a double.
  json ParseNumber() {
    size_t start = pos_;
    bool is_float = false;
    while (!AtEnd() && IsDigit(Peek())) ++pos_;
    if (Peek() == '.' && IsDigit(Peek(1))) {
      is_float = true;
      ++pos_;
      while (!AtEnd() && IsDigit(Peek())) ++pos_;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      size_t mark = pos_++;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) Fail(mark, "malformed number exponent");
      is_float = true;
      while (!AtEnd() && IsDigit(Peek())) ++pos_;
    }
    const char* begin = text_.data() + start;
    const char* end = text_.data() + pos_;
    if (!is_float) {
      int64_t i;
      auto [ptr, ec] = std::from_chars(begin, end, i);
      if (ec == std::errc() && ptr == end) return json(i);
    }
    double d;
    auto [ptr, ec] = std::from_chars(begin, end, d);
    if (ec != std::errc() || ptr != end || !std::isfinite(d)) Fail(start, "number out of range");
    return json(d);
  }

  // A quoted string at the cursor; JSON escapes plus \'.
  std::string ParseString() {
    size_t open = pos_;
    char quote = text_[pos_++];
    std::string out;
    while (true) {
      if (AtEnd()) Fail(open, "unterminated string");
      char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        return out;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      size_t escape = pos_++;
      if (AtEnd()) Fail(open, "unterminated string");
      char e = text_[pos_++];
      switch (e) {
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '/': out += '/'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': AppendUnicodeEscape(escape, &out); break;
        default:
          if (static_cast<unsigned char>(e) >= 0x20 && static_cast<unsigned char>(e) < 0x7f) {
            Fail(escape, std::string("invalid escape '\\") + e + "'");
          }
          Fail(escape, "invalid escape");
      }
    }
  }

  unsigned ParseHex4(size_t escape) {
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = Peek();
      if (AtEnd()) Fail(escape, "invalid \\u escape");
      unsigned digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        Fail(escape, "invalid \\u escape");
      }
      value = value * 16 + digit;
      ++pos_;
    }
    return value;
  }

  // After "\u": four hex digits, a surrogate pair as two escapes.
  void AppendUnicodeEscape(size_t escape, std::string* out) {
    unsigned cp = ParseHex4(escape);
    if (cp >= 0xDC00 && cp <= 0xDFFF) Fail(escape, "invalid \\u escape (lone low surrogate)");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (Peek() != '\\' || Peek(1) != 'u') {
        Fail(escape, "invalid \\u escape (lone high surrogate)");
      }
      pos_ += 2;
      unsigned low = ParseHex4(escape);
      if (low < 0xDC00 || low > 0xDFFF) Fail(escape, "invalid \\u escape (bad surrogate pair)");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------
// Public API

Expression::Expression(std::shared_ptr<const detail::ExpressionNode> root, std::string text,
                       bool whole_input)
    : root_(std::move(root)), text_(std::move(text)), whole_input_(whole_input) {}

Expression Expression::Parse(std::string_view text) {
  NodePtr root = Parser(text).ParseAll();
  auto* path = dynamic_cast<const PathNode*>(root.get());
  bool whole_input = path && !path->base && path->segments.empty();
  return Expression(std::shared_ptr<const Node>(std::move(root)), std::string(text), whole_input);
}

json Expression::Evaluate(const json& root) const {
  try {
    return root_->Eval(root).Release();
  } catch (const json::exception& e) {
    // Not expected; keeps the "only EvaluationError" contract if it happens.
    throw EvaluationError(e.what());
  }
}

void Expression::AppendText(const json& root, std::string* out) const {
  try {
    Value value = root_->Eval(root);
    AppendValueText(value.get(), out);
  } catch (const json::exception& e) {
    throw EvaluationError(e.what());
  }
}

void AppendValueText(const json& value, std::string* out) {
  switch (value.type()) {
    case json::value_t::null: return;
    case json::value_t::string: out->append(value.get_ref<const json::string_t&>()); return;
    case json::value_t::boolean: out->append(value.get<bool>() ? "true" : "false"); return;
    case json::value_t::number_integer:
      out->append(std::to_string(value.get_ref<const json::number_integer_t&>()));
      return;
    case json::value_t::number_unsigned:
      out->append(std::to_string(value.get_ref<const json::number_unsigned_t&>()));
      return;
    case json::value_t::number_float: AppendDouble(value.get<double>(), out); return;
    default:
      // Invalid UTF-8 in the input is replaced rather than thrown on.
      out->append(value.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

std::string ValueToText(const json& value) {
  std::string out;
  AppendValueText(value, &out);
  return out;
}

}  // namespace tiny::host
