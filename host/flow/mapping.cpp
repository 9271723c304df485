// Mapping: compiles a JSON template into a tree of template nodes. Any
// subtree without an expression collapses into one literal node, so Apply
// only walks the parts that vary per message.
#include "host/flow/mapping.h"

#include <optional>
#include <utility>

#include "host/flow/expression.h"

namespace tiny::host {

using json = nlohmann::json;

MappingError::MappingError(std::string path_in, std::string message)
    : std::runtime_error(path_in + ": " + message), path(std::move(path_in)) {}

namespace detail {

// Per-call state; Apply keeps nothing between calls.
struct ApplyContext {
  const json& input;
  std::vector<std::string>* errors;
};

struct TemplateNode {
  virtual ~TemplateNode() = default;
  virtual json Apply(const ApplyContext& context) const = 0;
  virtual bool IsLiteral() const { return false; }
};

}  // namespace detail

namespace {

using detail::ApplyContext;
using detail::TemplateNode;
using TemplatePtr = std::unique_ptr<const TemplateNode>;

// Deeper templates are rejected so Compile and Apply recursion stay bounded.
constexpr int kMaxTemplateDepth = 128;
// Long template strings are cut to this many characters in error messages.
constexpr size_t kMaxQuotedChars = 100;

std::string DisplayPath(const std::string& path) { return path.empty() ? "(root)" : path; }

size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) == 0x80 ? 0 : 1;
  return n;
}

std::string Quote(const std::string& s) {
  std::string shown = s;
  if (CountCodePoints(s) > kMaxQuotedChars) {
    size_t seen = 0, cut = 0;
    for (; cut < s.size(); ++cut) {
      if ((static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) continue;
      if (seen++ == kMaxQuotedChars) break;
    }
    shown = s.substr(0, cut) + "...";
  }
  return json(shown).dump(-1, ' ', false, json::error_handler_t::replace);
}

void ReportFailure(const ApplyContext& context, const std::string& path,
                   const Expression& expression, const EvaluationError& error) {
  if (!context.errors) return;
  context.errors->push_back(DisplayPath(path) + ": expression '" + expression.Text() +
                            "' failed: " + error.what());
}

struct LiteralTemplate final : TemplateNode {
  explicit LiteralTemplate(json v) : value(std::move(v)) {}
  json Apply(const ApplyContext&) const override { return value; }
  bool IsLiteral() const override { return true; }
  json value;
};

// "{{expr}}": the expression's typed value, null on failure.
struct TypedTemplate final : TemplateNode {
  TypedTemplate(Expression e, std::string p) : expression(std::move(e)), path(std::move(p)) {}
  json Apply(const ApplyContext& context) const override {
    try {
      return expression.Evaluate(context.input);
    } catch (const EvaluationError& error) {
      ReportFailure(context, path, expression, error);
      return nullptr;
    }
  }
  Expression expression;
  std::string path;
};

// "text {{expr}} text": a failed expression contributes "".
struct TextTemplate final : TemplateNode {
  struct Part {
    std::string literal;  // when !expression
    std::optional<Expression> expression;
  };
  json Apply(const ApplyContext& context) const override {
    std::string out;
    out.reserve(literal_bytes + 16 * parts.size());
    for (const auto& part : parts) {
      if (!part.expression) {
        out += part.literal;
        continue;
      }
      try {
        part.expression->AppendText(context.input, &out);
      } catch (const EvaluationError& error) {
        ReportFailure(context, path, *part.expression, error);
      }
    }
    return json(std::move(out));
  }
  std::vector<Part> parts;
  size_t literal_bytes = 0;
  std::string path;
};

struct ObjectTemplate final : TemplateNode {
  json Apply(const ApplyContext& context) const override {
    json out = json::object();
    auto& object = out.get_ref<json::object_t&>();
    // Members are stored in the object's own key order, so the hint is exact.
    for (const auto& [key, value] : members)
      object.emplace_hint(object.end(), key, value->Apply(context));
    return out;
  }
  std::vector<std::pair<std::string, TemplatePtr>> members;
};

struct ArrayTemplate final : TemplateNode {
  json Apply(const ApplyContext& context) const override {
    json out = json::array();
    auto& array = out.get_ref<json::array_t&>();
    array.reserve(items.size());
    for (const auto& item : items) array.push_back(item->Apply(context));
    return out;
  }
  std::vector<TemplatePtr> items;
};

bool IsPlainKey(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string MemberPath(const std::string& parent, const std::string& key) {
  if (IsPlainKey(key)) return parent.empty() ? key : parent + "." + key;
  return parent + "[" + json(key).dump(-1, ' ', false, json::error_handler_t::replace) + "]";
}

// Offset of the "}}" that closes an expression starting at `from`,
// skipping quoted strings so that {{ $.a == '}}' }} works; npos if none.
size_t FindClosingBraces(const std::string& s, size_t from) {
  char quote = 0;
  for (size_t i = from; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '}' && i + 1 < s.size() && s[i + 1] == '}') {
      return i;
    }
  }
  return std::string::npos;
}

TemplatePtr CompileString(const std::string& s, const std::string& path) {
  auto text = std::make_unique<TextTemplate>();
  text->path = path;
  size_t cursor = 0;
  while (cursor < s.size()) {
    size_t open = s.find("{{", cursor);
    if (open == std::string::npos) break;
    if (open > cursor) text->parts.push_back({s.substr(cursor, open - cursor), std::nullopt});
    size_t start = open + 2;
    size_t close = FindClosingBraces(s, start);
    // An unbalanced quote hides the real "}}"; parsing up to the first
    // "}}" then reports the quote problem at its position.
    if (close == std::string::npos) close = s.find("}}", start);
    if (close == std::string::npos) {
      throw MappingError(DisplayPath(path),
                         "unterminated '{{' at position " +
                             std::to_string(CountCodePoints(s.substr(0, open)) + 1) + " in " +
                             Quote(s));
    }
    try {
      text->parts.push_back(
          {{}, Expression::Parse(std::string_view(s).substr(start, close - start))});
    } catch (const ExpressionError& error) {
      size_t position = CountCodePoints(std::string_view(s).substr(0, start)) + error.position;
      throw MappingError(DisplayPath(path), "at position " + std::to_string(position) + " in " +
                                                Quote(s) + ": " + error.message);
    }
    cursor = close + 2;
  }
  if (text->parts.empty()) return std::make_unique<LiteralTemplate>(json(s));
  if (cursor < s.size()) text->parts.push_back({s.substr(cursor), std::nullopt});
  if (text->parts.size() == 1 && text->parts[0].expression) {
    return std::make_unique<TypedTemplate>(std::move(*text->parts[0].expression), path);
  }
  for (const auto& part : text->parts) text->literal_bytes += part.literal.size();
  return text;
}

TemplatePtr CompileValue(const json& value, const std::string& path, int depth) {
  if (depth > kMaxTemplateDepth) {
    throw MappingError(DisplayPath(path), "template nested too deeply (limit " +
                                              std::to_string(kMaxTemplateDepth) + ")");
  }
  if (value.is_string()) return CompileString(value.get_ref<const json::string_t&>(), path);
  bool all_literal = true;
  if (value.is_object()) {
    auto node = std::make_unique<ObjectTemplate>();
    for (const auto& [key, member] : value.items()) {
      node->members.emplace_back(key, CompileValue(member, MemberPath(path, key), depth + 1));
      all_literal = all_literal && node->members.back().second->IsLiteral();
    }
    if (!all_literal) return node;
  } else if (value.is_array()) {
    auto node = std::make_unique<ArrayTemplate>();
    for (size_t i = 0; i < value.size(); ++i) {
      node->items.push_back(
          CompileValue(value[i], path + "[" + std::to_string(i) + "]", depth + 1));
      all_literal = all_literal && node->items.back()->IsLiteral();
    }
    if (!all_literal) return node;
  }
  return std::make_unique<LiteralTemplate>(value);
}

}  // namespace

Mapping::Mapping() : Mapping(Compile("{{$}}")) {}

Mapping::Mapping(std::shared_ptr<const detail::TemplateNode> root, bool identity)
    : root_(std::move(root)), identity_(identity) {}

Mapping Mapping::Compile(const json& tmpl) {
  TemplatePtr root = CompileValue(tmpl, "", 0);
  auto* typed = dynamic_cast<const TypedTemplate*>(root.get());
  bool identity = typed && typed->expression.IsWholeInput();
  return Mapping(std::shared_ptr<const TemplateNode>(std::move(root)), identity);
}

json Mapping::Apply(const json& input, std::vector<std::string>* errors) const {
  return root_->Apply(ApplyContext{input, errors});
}

}  // namespace tiny::host
