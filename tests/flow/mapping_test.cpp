// Mapping: template compilation, typed values, interpolation, recursion,
// runtime failures (null + message) and compile errors (path + position).
#include "host/flow/mapping.h"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using tiny::host::Mapping;
using tiny::host::MappingError;
using json = nlohmann::json;

const json kInput = json::parse(R"({
  "a": 1, "b": 2.5, "s": "hello", "t": true, "name": "World",
  "arr": [10, 20], "obj": {"x": 1}, "query": {"name": "Ada"}
})");

json Apply(const json& tmpl, const json& input = kInput) {
  std::vector<std::string> errors;
  json out = Mapping::Compile(tmpl).Apply(input, &errors);
  CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors.front()));
  return out;
}

// The MappingError that compiling `tmpl` throws, or a failed check.
MappingError CompileError(const json& tmpl) {
  try {
    Mapping::Compile(tmpl);
  } catch (const MappingError& e) {
    return e;
  }
  FAIL_CHECK("compiled, expected MappingError: " << tmpl.dump());
  return MappingError("", "");
}

TEST_CASE("exact {{expr}} yields the typed value") {
  json out = Apply(json::parse(R"({
    "n": "{{$.a}}", "f": "{{$.b}}", "s": "{{$.s}}", "bool": "{{$.t}}",
    "o": "{{$.obj}}", "arr": "{{$.arr}}", "missing": "{{$.nope}}",
    "spaced": "{{   $.a + 1   }}", "sum": "{{$.a + $.b}}", "whole": "{{$.query}}"
  })"));
  CHECK(out.dump() ==
        R"({"arr":[10,20],"bool":true,"f":2.5,"missing":null,"n":1,"o":{"x":1},"s":"hello",)"
        R"("spaced":2,"sum":3.5,"whole":{"name":"Ada"}})");
}

TEST_CASE("text around {{expr}} interpolates") {
  CHECK(Apply("Hello {{$.query.name}}!") == "Hello Ada!");
  CHECK(Apply("{{$.a}} and {{$.b}}") == "1 and 2.5");
  CHECK(Apply("{{$.a}}{{$.a}}") == "11");  // two expressions: text, not typed
  CHECK(Apply(" {{$.a}}") == " 1");
  CHECK(Apply("{{$.a}} ") == "1 ");
  CHECK(Apply("t={{$.t}} n={{$.nope}}.") == "t=true n=.");
  CHECK(Apply("o={{$.obj}} a={{$.arr}}") == R"(o={"x":1} a=[10,20])");
  CHECK(Apply("x{{2.0}}") == "x2");
  CHECK(Apply("x{{1/4}}") == "x0.25");
  CHECK(Apply("{{ $.s == '}}' }}") == false);  // "}}" inside quotes does not close
  CHECK(Apply("[{{'{{'}}]") == "[{{]");        // a literal "{{" in text
  CHECK(Apply("{{'{{'}}") == "{{");
  CHECK(Apply("it's {{$.a}}, \"ok\"") == "it's 1, \"ok\"");  // quotes in text are text
}

TEST_CASE("literals are kept as they are") {
  json tmpl = json::parse(R"({
    "num": 200, "float": 1.5, "yes": true, "nothing": null, "text": "plain",
    "brace": "{ {$.a} }", "single": "{$.a}", "closing": "a }} b", "empty": "",
    "list": [1, "two", {"three": 3}], "{{$.a}}": "keys are literal"
  })");
  CHECK(Apply(tmpl) == tmpl);
  CHECK(Apply(json(5)) == 5);
  CHECK(Apply(json()) == json());
  CHECK(Apply("$.a") == "$.a");
}

TEST_CASE("objects and arrays map recursively") {
  json out = Apply(json::parse(R"({
    "statusCode": 200,
    "body": "Hello {{$.query.name}}!",
    "headers": {"x-count": "{{length($.arr)}}", "static": "v"},
    "outer": {"inner": ["{{$.a}}", "lit", 3, {"deep": "{{upper($.s)}}"}, ["{{$.t}}"]]}
  })"));
  CHECK(out == json::parse(R"({
    "statusCode": 200,
    "body": "Hello Ada!",
    "headers": {"x-count": 2, "static": "v"},
    "outer": {"inner": [1, "lit", 3, {"deep": "HELLO"}, [true]]}
  })"));
  CHECK(Apply(json::parse(R"(["{{$.arr[0]}}", "{{$.arr[-1]}}"])")) == json::array({10, 20}));
}

TEST_CASE("a runtime error yields null or empty text and one message") {
  Mapping mapping = Mapping::Compile(json::parse(R"({
    "x": "{{1 / 0}}", "y": "v={{$.s * 2}}!", "z": "{{$.a}}",
    "list": [0, "{{length($.a)}}"], "h": {"bad key": "{{-$.s}}"}
  })"));
  std::vector<std::string> errors;
  json out = mapping.Apply(kInput, &errors);
  CHECK(out == json::parse(R"({"x": null, "y": "v=!", "z": 1, "list": [0, null],
                               "h": {"bad key": null}})"));
  REQUIRE(errors.size() == 4);
  // Members are applied in key order: h, list, x, y.
  CHECK(errors[0] ==
        R"(h["bad key"]: expression '-$.s' failed: unary '-' needs a number, got string)");
  CHECK(errors[1] ==
        "list[1]: expression 'length($.a)' failed: "
        "length() expects a string, array or object, got number");
  CHECK(errors[2] == "x: expression '1 / 0' failed: division by zero");
  CHECK(errors[3] ==
        "y: expression '$.s * 2' failed: operator '*' cannot be applied to string and number");

  // Without an error sink the result is the same and nothing throws.
  CHECK(mapping.Apply(kInput, nullptr) == out);

  // A root expression names the root.
  std::vector<std::string> root_errors;
  CHECK(Mapping::Compile("{{1 % 0}}").Apply(kInput, &root_errors).is_null());
  REQUIRE(root_errors.size() == 1);
  CHECK(root_errors[0] == "(root): expression '1 % 0' failed: modulo by zero");
}

TEST_CASE("compile errors name the path and the position") {
  MappingError body = CompileError(json{{"body", "Hello {{$.a +}}"}});
  CHECK(body.path == "body");
  CHECK(std::string(body.what()) ==
        R"(body: at position 14 in "Hello {{$.a +}}": unexpected end of expression)");

  MappingError header = CompileError(json{{"headers", {{"x", "{{foo()}}"}}}});
  CHECK(header.path == "headers.x");
  CHECK(std::string(header.what()) ==
        R"(headers.x: at position 3 in "{{foo()}}": unknown function 'foo')");

  MappingError item = CompileError(json{{"items", {1, 2, "ok {{$.a}} {{)}}"}}});
  CHECK(item.path == "items[2]");
  CHECK(std::string(item.what()) ==
        R"(items[2]: at position 14 in "ok {{$.a}} {{)}}": unexpected ')')");

  MappingError open = CompileError(json{{"a", "x {{ $.a"}});
  CHECK(std::string(open.what()) == R"(a: unterminated '{{' at position 3 in "x {{ $.a")");

  MappingError quote = CompileError(json{{"q", "{{ 'abc }}"}});
  CHECK(std::string(quote.what()) == R"(q: at position 4 in "{{ 'abc }}": unterminated string)");

  MappingError empty = CompileError(json{{"e", "{{}}"}});
  CHECK(std::string(empty.what()) == R"(e: at position 3 in "{{}}": empty expression)");

  MappingError root = CompileError("{{)}}");
  CHECK(root.path == "(root)");

  MappingError dotted = CompileError(json{{"a.b", "{{)}}"}});
  CHECK(dotted.path == R"(["a.b"])");

  MappingError spaced = CompileError(json{{"h", {{"content type", "{{)}}"}}}});
  CHECK(spaced.path == R"(h["content type"])");

  // Positions count characters, not bytes.
  MappingError utf8 = CompileError(json{{"m", "\xC3\xA9 {{)}}"}});
  CHECK(std::string(utf8.what()).find("at position 5 in") != std::string::npos);

  // Long strings are cut in the message; the position still counts in full.
  std::string long_text = std::string(150, 'x') + "{{)}}";
  MappingError cut = CompileError(json{{"l", long_text}});
  CHECK(std::string(cut.what()) ==
        "l: at position 153 in \"" + std::string(100, 'x') + "...\": unexpected ')'");
}

TEST_CASE("templates nested too deeply are rejected") {
  json deep = "{{$.a}}";
  for (int i = 0; i < 200; ++i) deep = json::array({deep});
  MappingError error = CompileError(deep);
  CHECK(std::string(error.what()).find("template nested too deeply") != std::string::npos);

  json fine = "{{$.a}}";
  for (int i = 0; i < 100; ++i) fine = json::array({fine});
  json out = Mapping::Compile(fine).Apply(kInput, nullptr);
  for (int i = 0; i < 100; ++i) out = out.at(0);
  CHECK(out == 1);
}

TEST_CASE("IsIdentity is true only for {{$}}") {
  CHECK(Mapping::Compile("{{$}}").IsIdentity());
  CHECK(Mapping::Compile("{{ $ }}").IsIdentity());
  CHECK(Mapping().IsIdentity());
  CHECK_FALSE(Mapping::Compile("{{$.a}}").IsIdentity());
  CHECK_FALSE(Mapping::Compile("{{$}} ").IsIdentity());
  CHECK_FALSE(Mapping::Compile(json{{"a", "{{$}}"}}).IsIdentity());
  CHECK_FALSE(Mapping::Compile("$").IsIdentity());
  CHECK_FALSE(Mapping::Compile(json::object()).IsIdentity());
  CHECK(Mapping().Apply(kInput, nullptr) == kInput);
  CHECK(Mapping::Compile("{{$}}").Apply(json("raw"), nullptr) == "raw");
}

TEST_CASE("copies share the compiled template and Apply is thread-safe") {
  Mapping original = Mapping::Compile(json::parse(R"({
    "id": "{{$.id}}", "greeting": "Hello {{$.name}} #{{$.id}}", "double": "{{$.id * 2}}"
  })"));
  Mapping copy = original;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const Mapping& mapping = t % 2 ? copy : original;
      for (int i = 0; i < 2000; ++i) {
        json input = {{"id", i}, {"name", "T" + std::to_string(t)}};
        json out = mapping.Apply(input, nullptr);
        json expected = {{"id", i},
                         {"greeting", "Hello T" + std::to_string(t) + " #" + std::to_string(i)},
                         {"double", i * 2}};
        if (out != expected) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches.load() == 0);
}

}  // namespace
