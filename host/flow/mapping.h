// Mapping: an edge's `data:` template, compiled once per flow load and
// applied to every message that crosses the edge.
//
// Template rules (TinySystems style, see docs/expressions.md):
// - a string that is exactly "{{expr}}" yields the expression's typed value;
// - a string with "{{expr}}" among other text interpolates each value's
//   text form (ValueToText);
// - anything else is a literal; objects and arrays map recursively.
//
// A Mapping is immutable after Compile: Apply is const and thread-safe.
// Copies share the compiled template.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace tiny::host {

// A template that does not compile. `path` locates the offending value
// ("body", "headers.x", "items[2]", "(root)"); what() is "<path>: <message>".
struct MappingError : std::runtime_error {
  MappingError(std::string path, std::string message);
  std::string path;
};

namespace detail {
struct TemplateNode;
}

class Mapping {
 public:
  // The identity mapping, same as Compile("{{$}}"): what an edge without
  // `data:` does.
  Mapping();

  // Throws MappingError for a string whose {{...}} does not parse (the
  // message gives the quoted string and the 1-based character position in
  // it) or that opens "{{" without a closing "}}".
  static Mapping Compile(const nlohmann::json& tmpl);

  // Applies the template with `$` bound to `input`. Never throws for a
  // runtime error in an expression: a typed "{{expr}}" then yields null and
  // an interpolated part yields "" (the rest of the string is kept), and one
  // message naming the template path and the expression is appended to
  // *errors when errors is not null.
  nlohmann::json Apply(const nlohmann::json& input, std::vector<std::string>* errors) const;

  // True iff the template is "{{$}}" (whitespace inside the braces aside):
  // Apply returns a copy of the input, so a caller may skip it.
  bool IsIdentity() const { return identity_; }

 private:
  Mapping(std::shared_ptr<const detail::TemplateNode> root, bool identity);

  std::shared_ptr<const detail::TemplateNode> root_;
  bool identity_;
};

}  // namespace tiny::host
