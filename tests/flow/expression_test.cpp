// Expression language: a table of cases (expression, input, expected value
// or error) plus the properties a table cannot express: limits, fuzzed
// input, the now() format and the text form of values.
#include "host/flow/expression.h"

#include <doctest/doctest.h>

#include <cctype>
#include <random>
#include <string>
#include <vector>

namespace {

using tiny::host::EvaluationError;
using tiny::host::Expression;
using tiny::host::ExpressionError;
using json = nlohmann::json;

// The input of every case that does not bring its own.
constexpr const char* kDoc = R"({
  "a": 1, "b": 2.5, "s": "hello", "n": null, "t": true, "f": false,
  "arr": [10, 20, 30], "obj": {"x": 1, "y": [1, {"z": "deep"}]},
  "empty": "", "ea": [], "eo": {}, "with space": 7, "dash-key": "d",
  "neg": -3, "big": 9223372036854775807, "utf": "h\u00e9llo", "0": "zero",
  "name": "World", "items": [{"id": 1, "tags": ["a", "b"]}, {"id": 2}]
})";

enum class Expect { kValue, kParseError, kEvalError };

struct Case {
  std::string expr;
  std::string input;  // JSON text
  Expect expect;
  std::string expected;  // kValue: JSON text; errors: a substring of the message
  size_t position;       // kParseError: 1-based position
};

// Values compare by their serialization, so 2 and 2.0 differ: the tests
// check that integer arithmetic stays integer.
Case V(std::string expr, std::string expected, std::string input = kDoc) {
  return {std::move(expr), std::move(input), Expect::kValue, std::move(expected), 0};
}
Case P(std::string expr, size_t position, std::string message) {
  return {std::move(expr), "null", Expect::kParseError, std::move(message), position};
}
Case E(std::string expr, std::string message, std::string input = kDoc) {
  return {std::move(expr), std::move(input), Expect::kEvalError, std::move(message), 0};
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<Case> Cases() {
  return {
      // --- paths
      V("$", json::parse(kDoc).dump()),
      V("$.a", "1"),
      V("$.b", "2.5"),
      V("$.s", R"("hello")"),
      V("$.missing", "null"),
      V("$.missing.deeper[3]", "null"),
      V("$.obj.x", "1"),
      V("$.obj.y[1].z", R"("deep")"),
      V("$.arr[0]", "10"),
      V("$.arr[2]", "30"),
      V("$.arr[3]", "null"),
      V("$.arr[-1]", "30"),
      V("$.arr[-3]", "10"),
      V("$.arr[-4]", "null"),
      V("$['with space']", "7"),
      V(R"($["dash-key"])", R"("d")"),
      V("$[ 'a' ]", "1"),
      V("$.obj['y'][0]", "1"),
      V("$.s.x", "null"),
      V("$.s[0]", "null"),
      V("$.obj[0]", "null"),
      V("$.arr.x", "null"),
      V("$.0", R"("zero")"),
      V("$.items[1].id", "2"),
      V("$.items[0].tags[-1]", R"("b")"),
      V("$.n", "null"),
      V("$.ea", "[]"),
      V("$.eo", "{}"),
      V("$.utf", R"("héllo")"),
      V("$.big", "9223372036854775807"),
      V("($.obj).x", "1"),
      V("$.a-1", "0"),  // '-' ends a dotted name: use ['dash-key'] for such keys
      V("split($.s, 'l')[0]", R"("he")"),
      V("$", "5", "5"),
      V("$[0]", "7", "[7]"),
      V("$.a", "null", "[1]"),
      V("$.a", "null", R"("str")"),
      V("$['a\\'b']", "3", R"({"a'b": 3})"),

      // --- literals
      V("1", "1"),
      V("0", "0"),
      V("1.5", "1.5"),
      V("1e3", "1000.0"),
      V("2.5E-1", "0.25"),
      V("-4", "-4"),
      V("-1.5", "-1.5"),
      V("'single'", R"("single")"),
      V(R"("double")", R"("double")"),
      V(R"('it\'s')", R"("it's")"),
      V(R"("a\"b")", R"("a\"b")"),
      V(R"('\n\t\r\b\f\/')", R"("\n\t\r\b\f/")"),
      V(R"('\u00e9')", R"("é")"),
      V(R"('\ud83d\ude00')", R"("😀")"),
      V(R"('a\\b')", R"("a\\b")"),
      V("''", R"("")"),
      V("true", "true"),
      V("false", "false"),
      V("null", "null"),
      V("9223372036854775807", "9223372036854775807"),
      V("9223372036854775808", "9.223372036854776e18"),
      V("  1  ", "1"),

      // --- arithmetic
      V("1 + 2", "3"),
      V("1 + 2.5", "3.5"),
      V("$.a + $.b", "3.5"),
      V("0.1 + 0.2", "0.30000000000000004"),
      V("5 - 7", "-2"),
      V("3 * 4", "12"),
      V("1.5 * 2", "3.0"),
      V("7 / 2", "3.5"),
      V("8 / 2", "4"),
      V("-8 / 2", "-4"),
      V("7.0 / 2", "3.5"),
      V("1 / 3", "0.3333333333333333"),
      V("7 % 3", "1"),
      V("-7 % 3", "-1"),
      V("7.5 % 2", "1.5"),
      V("2 + 3 * 4", "14"),
      V("(2 + 3) * 4", "20"),
      V("10 - 2 - 3", "5"),
      V("100 / 10 / 5", "2"),
      V("2 * 3 % 4", "2"),
      V("9223372036854775807 + 1", "9.223372036854776e18"),
      V("-9223372036854775807 - 2", "-9.223372036854776e18"),
      V("4611686018427387904 * 2", "9.223372036854776e18"),
      V("(-9223372036854775807 - 1) / -1", "9.223372036854776e18"),
      V("(-9223372036854775807 - 1) % -1", "0"),
      V("$.big + 0", "9223372036854775807"),
      V("-$.a", "-1"),
      V("--2", "2"),
      V("- -2", "2"),
      V("-(1 + 2)", "-3"),
      V("1 - -1", "2"),
      V("$.neg * $.neg", "9"),
      V("$.x * 2", "10", R"({"x": 5})"),
      V("$.x / 2", "2.5", R"({"x": 5})"),
      E("1 / 0", "division by zero"),
      E("1.5 / 0.0", "division by zero"),
      E("1 % 0", "modulo by zero"),
      E("1 - 'a'", "operator '-' cannot be applied to number and string"),
      E("true + 1", "operator '+' cannot be applied to bool and number"),
      E("null + 1", "operator '+' cannot be applied to null and number"),
      E("$.arr * 2", "operator '*' cannot be applied to array and number"),
      E("$.missing / 2", "operator '/' cannot be applied to null and number"),
      E("-'a'", "unary '-' needs a number, got string"),
      E("1e308 * 10", "not a finite number"),

      // --- string concatenation
      V("'a' + 'b'", R"("ab")"),
      V("'n=' + 1", R"("n=1")"),
      V("1 + 'x'", R"("1x")"),
      V("'x' + 2.5", R"("x2.5")"),
      V("'x' + true", R"("xtrue")"),
      V("'x' + null", R"("x")"),
      V("'x' + $.arr", R"("x[10,20,30]")"),
      V("'x' + $.obj.y", R"("x[1,{\"z\":\"deep\"}]")"),
      V("'Hello ' + $.name + '!'", R"("Hello World!")"),
      V("1 + 2 + 'a'", R"("3a")"),
      V("'a' + 1 + 2", R"("a12")"),
      V("'x' + 1.0", R"("x1")"),
      V("'x' + 1e20", R"("x1e+20")"),

      // --- equality
      V("1 == 1", "true"),
      V("1 == 1.0", "true"),
      V("1 == 2", "false"),
      V("'a' == 'a'", "true"),
      V("'a' == 'b'", "false"),
      V("null == null", "true"),
      V("$.missing == null", "true"),
      V("1 == '1'", "false"),
      V("true == 1", "false"),
      V("$.obj == $.obj", "true"),
      V("$.items[0].tags == split('a,b', ',')", "true"),
      V("$.big == 9223372036854775807", "true"),
      V("1 != 2", "true"),
      V("1 != 1.0", "false"),
      V("'a' != 'a'", "false"),

      // --- relational
      V("1 < 2", "true"),
      V("2 <= 2", "true"),
      V("3 > 2.5", "true"),
      V("2.5 >= 3", "false"),
      V("'a' < 'b'", "true"),
      V("'b' > 'abc'", "true"),
      V("'abc' <= 'abd'", "true"),
      V("9223372036854775807 > 9223372036854775806", "true"),
      V("1 < 2 == true", "true"),
      V("1 + 1 == 2", "true"),
      E("1 < 'a'", "operator '<' cannot be applied to number and string"),
      E("null < 1", "operator '<' cannot be applied to null and number"),
      E("true > false", "operator '>' cannot be applied to bool and bool"),
      E("$.arr >= $.arr", "operator '>=' cannot be applied to array and array"),

      // --- logic and truthiness
      V("true && false", "false"),
      V("true && true", "true"),
      V("true || false", "true"),
      V("false || false", "false"),
      V("!true", "false"),
      V("!false", "true"),
      V("!0", "true"),
      V("!1", "false"),
      V("!0.0", "true"),
      V("!''", "true"),
      V("!'x'", "false"),
      V("!null", "true"),
      V("!$.ea", "true"),
      V("!$.eo", "true"),
      V("!$.arr", "false"),
      V("!$.obj", "false"),
      V("!!$.s", "true"),
      V("1 && 'x'", "true"),
      V("0 || ''", "false"),
      V("$.missing || 5", "true"),
      V("false && 1 / 0", "false"),
      V("true || 1 / 0", "true"),
      E("true && 1 / 0", "division by zero"),
      V("false || true && false", "false"),
      V("true || true && false", "true"),
      V("!true || true", "true"),
      V("!(true || true)", "false"),

      // --- ternary
      V("true ? 1 : 2", "1"),
      V("false ? 1 : 2", "2"),
      V("$.a > 0 ? 'pos' : 'neg'", R"("pos")"),
      V("$.missing ? 1 : 2", "2"),
      V("false ? 1 : true ? 2 : 3", "2"),
      V("true ? false ? 1 : 2 : 3", "2"),
      V("1 + 1 == 2 ? 'y' : 'n'", R"("y")"),
      V("false ? 1 / 0 : 2", "2"),
      E("true ? 1 / 0 : 2", "division by zero"),
      V("$.t ? $.obj.x : null", "1"),
      V("(true ? 1 : 2) + 1", "2"),
      V("true || false ? 'a' : 'b'", R"("a")"),

      // --- functions
      V("length($.s)", "5"),
      V("length($.utf)", "5"),
      V("length($.arr)", "3"),
      V("length($.obj)", "2"),
      V("length('')", "0"),
      V("length($.ea)", "0"),
      E("length(5)", "length() expects a string, array or object, got number"),
      E("length(null)", "length() expects a string, array or object, got null"),
      V("upper('abc')", R"("ABC")"),
      V("upper($.utf)", R"("HéLLO")"),
      V("lower('AbC')", R"("abc")"),
      E("upper(1)", "upper() expects a string, got number"),
      E("lower(null)", "lower() expects a string, got null"),
      V("trim('  a b  ')", R"("a b")"),
      V(R"(trim('\t\nx\r '))", R"("x")"),
      V("trim('')", R"("")"),
      E("trim(true)", "trim() expects a string, got bool"),
      V("split('a,b,c', ',')", R"(["a","b","c"])"),
      V("split('a,,b', ',')", R"(["a","","b"])"),
      V("split('', ',')", R"([""])"),
      V("split('abc', '')", R"(["a","b","c"])"),
      V("split($.utf, '')", R"(["h","é","l","l","o"])"),
      V("split('a--b', '--')", R"(["a","b"])"),
      E("split(1, ',')", "split() expects a string, got number"),
      E("split('a', 1)", "split() expects a string, got number"),
      V("join($.items[0].tags, '-')", R"("a-b")"),
      V("join($.arr, ', ')", R"("10, 20, 30")"),
      V("join($.ea, ',')", R"("")"),
      V("join(split('a b', ' '), '+')", R"("a+b")"),
      E("join('x', ',')", "join() expects an array, got string"),
      E("join($.arr, 1)", "join() expects a string, got number"),
      V("contains('hello', 'ell')", "true"),
      V("contains('hello', 'z')", "false"),
      V("contains($.arr, 20)", "true"),
      V("contains($.arr, 20.0)", "true"),
      V("contains($.arr, '20')", "false"),
      V("contains($.obj, 'x')", "true"),
      V("contains($.obj, 'q')", "false"),
      E("contains(5, 1)", "contains() expects a string, array or object, got number"),
      E("contains('a', 1)", "contains() expects a string, got number"),
      V("hasprefix('hello', 'he')", "true"),
      V("hasprefix('hello', 'lo')", "false"),
      V("hassuffix('hello', 'lo')", "true"),
      V("hassuffix('hello', '')", "true"),
      E("hasprefix(1, 'a')", "hasprefix() expects a string, got number"),
      E("hassuffix('a', null)", "hassuffix() expects a string, got null"),
      V("replace('a-b-c', '-', '+')", R"("a+b+c")"),
      V("replace('aaa', 'a', 'bb')", R"("bbbbbb")"),
      V("replace('abc', '', 'x')", R"("abc")"),
      V("replace('abc', 'z', 'y')", R"("abc")"),
      E("replace('abc', 'a', 1)", "replace() expects a string, got number"),
      V("substr('hello', 1)", R"("ello")"),
      V("substr('hello', 1, 3)", R"("ell")"),
      V("substr('hello', -2, 2)", R"("he")"),
      V("substr('hello', 10)", R"("")"),
      V("substr('hello', 2, 100)", R"("llo")"),
      V("substr('hello', 0, -1)", R"("")"),
      V("substr($.utf, 1, 2)", R"("él")"),
      V("substr('hello', 1.0, 2)", R"("el")"),
      E("substr('hello', 1.5)", "substr() expects an integer, got 1.5"),
      E("substr('hello', '1')", "substr() expects a number, got string"),
      V("abs(-3)", "3"),
      V("abs(3)", "3"),
      V("abs(-2.5)", "2.5"),
      V("abs(-9223372036854775807 - 1)", "9.223372036854776e18"),
      E("abs('x')", "abs() expects a number, got string"),
      V("ceil(1.2)", "2"),
      V("ceil(-1.2)", "-1"),
      V("floor(1.8)", "1"),
      V("floor(-1.2)", "-2"),
      V("round(2.5)", "3"),
      V("round(-2.5)", "-3"),
      V("round(2.4)", "2"),
      V("round(7)", "7"),
      V("ceil(1e300)", "1e300"),
      V("round($.b)", "3"),
      E("ceil('x')", "ceil() expects a number, got string"),
      E("floor(null)", "floor() expects a number, got null"),
      V("string(1)", R"("1")"),
      V("string(2.5)", R"("2.5")"),
      V("string(3.0)", R"("3")"),
      V("string(true)", R"("true")"),
      V("string(null)", R"("")"),
      V("string('s')", R"("s")"),
      V("string($.arr)", R"("[10,20,30]")"),
      V("string($.obj.y)", R"("[1,{\"z\":\"deep\"}]")"),
      V("number('42')", "42"),
      V("number(' 42 ')", "42"),
      V("number('-1.5')", "-1.5"),
      V("number('1e3')", "1000.0"),
      V("number(true)", "1"),
      V("number(false)", "0"),
      V("number(7)", "7"),
      E("number('abc')", "number() cannot convert \"abc\""),
      E("number('')", "number() cannot convert"),
      E("number('inf')", "number() cannot convert"),
      E("number('12abc')", "number() cannot convert"),
      E("number(null)", "number() expects a string, got null"),
      V("parsejson('{\"items\":[1,2]}')", R"({"items":[1,2]})"),
      V("parsejson('{\"items\":[1,2]}').items[1]", "2"),
      V("parsejson(' 7 ')", "7"),
      V("parsejson('null')", "null"),
      V("parsejson(string($.obj))", R"({"x":1,"y":[1,{"z":"deep"}]})"),
      E("parsejson('{oops')", "parsejson() got text that is not JSON: \"{oops\""),
      E("parsejson('')", "parsejson() got text that is not JSON"),
      E("parsejson($.obj)", "parsejson() expects a string, got object"),
      E("parsejson('" + std::string(2000, '[') + std::string(2000, ']') + "')",
        "parsejson() got JSON nested deeper than 1024 levels"),
      V("parsejson('" + std::string(1000, '[') + std::string(1000, ']') + "') == parsejson('" +
            std::string(1000, '[') + std::string(1000, ']') + "')",
        "true"),
      V("upper(substr($.s, 0, 1)) + substr($.s, 1)", R"("Hello")"),
      V("length(split('a,b,c', ','))", "3"),
      V("length ( $.s )", "5"),

      // --- parse errors: position and message
      P("", 1, "empty expression"),
      P("   ", 4, "empty expression"),
      P("1 +", 4, "unexpected end of expression"),
      P("(1 + 2", 7, "expected ')' to close '(' at position 1"),
      P("(1 + 2 3)", 8, "expected ')'"),
      P("1 + 2)", 6, "unexpected ')'"),
      P(")", 1, "unexpected ')'"),
      P("'abc", 1, "unterminated string"),
      P("$.a + \"x", 7, "unterminated string"),
      P("'abc\\", 1, "unterminated string"),
      P("foo(1)", 1, "unknown function 'foo'"),
      P("1 + bar()", 5, "unknown function 'bar'"),
      P("Upper('a')", 1, "unknown function 'Upper'"),
      P("foo", 1, "unknown identifier 'foo'"),
      P("$.arr[0", 8, "expected ']'"),
      P("$.arr[", 7, "expected index or quoted field name"),
      P("$.arr[x]", 7, "expected index or quoted field name"),
      P("$.arr[1.5]", 8, "index must be an integer"),
      P("$.arr[-]", 8, "expected digits in index"),
      P("$.arr[99999999999999999999]", 7, "index out of range"),
      P("$.", 3, "expected field name after '.'"),
      P("$..a", 3, "expected field name after '.'"),
      P("$ .a", 3, "unexpected '.'"),
      P("$.dash-key", 8, "unknown identifier 'key'"),
      P("length()", 1, "too few arguments: length() takes 1"),
      P("length(1, 2)", 11, "too many arguments: length() takes 1"),
      P("substr('a')", 1, "too few arguments: substr() takes 2 or 3"),
      P("now(1)", 5, "too many arguments: now() takes 0"),
      P("upper('a' 'b')", 11, "expected ',' or ')' in call to upper()"),
      P("upper('a',)", 11, "too many arguments: upper() takes 1"),
      P("substr('a', 1,)", 15, "unexpected ')'"),
      P("1 = 2", 3, "unexpected '=' (did you mean '=='?)"),
      P("1 & 2", 3, "unexpected '&' (did you mean '&&'?)"),
      P("1 | 2", 3, "unexpected '|' (did you mean '||'?)"),
      P("true ? 1", 9, "expected ':' in conditional expression"),
      P("? 1 : 2", 1, "unexpected '?'"),
      P("1 2", 3, "unexpected '2'"),
      P(R"('\q')", 2, "invalid escape '\\q'"),
      P(R"('\u12')", 2, "invalid \\u escape"),
      P(R"('\ud800')", 2, "lone high surrogate"),
      P(R"('\udc00')", 2, "lone low surrogate"),
      P(R"('\ud800\u0041')", 2, "bad surrogate pair"),
      P("1e", 2, "malformed number exponent"),
      P("1e999", 1, "number out of range"),
      P("1.", 2, "unexpected '.'"),
      P(".5", 1, "unexpected '.'"),
      P("$.a +* 2", 6, "unexpected '*'"),
      P("#", 1, "unexpected '#'"),
      P("\xC3\xA9", 1, "unexpected byte 0xC3"),
      P("'\xC3\xA9' + )", 7, "unexpected ')'"),
      P("!= 1", 1, "unexpected '!'"),
      P("1 +\n)", 5, "unexpected ')'"),

      // --- limits: nesting depth 64, length 4096 bytes
      V(Repeat("(", 63) + "1" + Repeat(")", 63), "1"),
      P(Repeat("(", 64) + "1" + Repeat(")", 64), 65, "nested too deeply (limit 64)"),
      V(Repeat("!", 63) + "true", "false"),
      P(Repeat("!", 64) + "true", 65, "nested too deeply"),
      P(Repeat("-", 100) + "1", 65, "nested too deeply"),
      P(Repeat("false ? 0 : ", 70) + "1", 764, "nested too deeply"),                // 64th '?'+1
      P(Repeat("length(", 70) + "''" + Repeat(")", 70), 449, "nested too deeply"),  // 64th '('+1
      V("1" + Repeat("+1", 2047) + " ", "2048"),
      P("1" + Repeat("+1", 2047) + "  ", 4097, "expression too long (4097 bytes, limit 4096)"),
  };
}

TEST_CASE("expression table") {
  std::vector<Case> cases = Cases();
  CHECK(cases.size() >= 150);
  for (const Case& c : cases) {
    CAPTURE(c.expr);
    json input = json::parse(c.input);
    switch (c.expect) {
      case Expect::kValue: {
        json actual;
        try {
          actual = Expression::Parse(c.expr).Evaluate(input);
        } catch (const std::exception& e) {
          FAIL_CHECK("unexpected exception: " << e.what());
          continue;
        }
        CHECK(actual.dump() == json::parse(c.expected).dump());
        break;
      }
      case Expect::kParseError: {
        try {
          Expression::Parse(c.expr);
          FAIL_CHECK("parsed, expected error: " << c.expected);
        } catch (const ExpressionError& e) {
          CHECK(e.position == c.position);
          CHECK_MESSAGE(e.message.find(c.expected) != std::string::npos, e.message);
          CHECK(std::string(e.what()) ==
                "at position " + std::to_string(e.position) + ": " + e.message);
        }
        break;
      }
      case Expect::kEvalError: {
        Expression expression = Expression::Parse(c.expr);
        try {
          json actual = expression.Evaluate(input);
          FAIL_CHECK("evaluated to " << actual.dump() << ", expected error: " << c.expected);
        } catch (const EvaluationError& e) {
          CHECK_MESSAGE(std::string(e.what()).find(c.expected) != std::string::npos, e.what());
        }
        break;
      }
    }
  }
}

bool IsDigits(const std::string& s, size_t from, size_t count) {
  for (size_t i = from; i < from + count; ++i) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

TEST_CASE("now() is RFC 3339 UTC with milliseconds") {
  json value = Expression::Parse("now()").Evaluate(json());
  REQUIRE(value.is_string());
  std::string s = value.get<std::string>();
  // 2024-01-02T03:04:05.678Z
  REQUIRE(s.size() == 24);
  CHECK(IsDigits(s, 0, 4));
  CHECK(s[4] == '-');
  CHECK(IsDigits(s, 5, 2));
  CHECK(s[7] == '-');
  CHECK(IsDigits(s, 8, 2));
  CHECK(s[10] == 'T');
  CHECK(IsDigits(s, 11, 2));
  CHECK(s[13] == ':');
  CHECK(IsDigits(s, 14, 2));
  CHECK(s[16] == ':');
  CHECK(IsDigits(s, 17, 2));
  CHECK(s[19] == '.');
  CHECK(IsDigits(s, 20, 3));
  CHECK(s[23] == 'Z');
  CHECK(s.substr(0, 2) == "20");
}

TEST_CASE("text form of values") {
  using tiny::host::ValueToText;
  CHECK(ValueToText(json("plain")) == "plain");
  CHECK(ValueToText(json(42)) == "42");
  CHECK(ValueToText(json(42u)) == "42");
  CHECK(ValueToText(json(-7)) == "-7");
  CHECK(ValueToText(json(2.0)) == "2");
  CHECK(ValueToText(json(-0.5)) == "-0.5");
  CHECK(ValueToText(json(0.1)) == "0.1");
  CHECK(ValueToText(json(1e21)) == "1e+21");
  CHECK(ValueToText(json(true)) == "true");
  CHECK(ValueToText(json(nullptr)) == "");
  CHECK(ValueToText(json::parse(R"({"b":[1,2.5],"a":"x"})")) == R"({"a":"x","b":[1,2.5]})");
  // Invalid UTF-8 inside a container is replaced, never thrown on.
  json bad = json::array({std::string("\xff")});
  CHECK(ValueToText(bad) == "[\"\xEF\xBF\xBD\"]");
}

TEST_CASE("Expression accessors, copies and AppendText") {
  Expression e = Expression::Parse(" $.a + 1 ");
  CHECK(e.Text() == " $.a + 1 ");
  CHECK_FALSE(e.IsWholeInput());
  CHECK(Expression::Parse("$").IsWholeInput());
  CHECK(Expression::Parse("  $ ").IsWholeInput());
  CHECK_FALSE(Expression::Parse("$.a").IsWholeInput());
  Expression copy = e;
  Expression moved = std::move(e);
  CHECK(copy.Evaluate(json{{"a", 2}}) == 3);
  CHECK(moved.Evaluate(json{{"a", 4}}) == 5);

  std::string out = "x=";
  Expression::Parse("$.obj").AppendText(json::parse(kDoc), &out);
  CHECK(out == R"(x={"x":1,"y":[1,{"z":"deep"}]})");
  std::string unchanged = "keep";
  CHECK_THROWS_AS(Expression::Parse("1/0").AppendText(json(), &unchanged), EvaluationError);
  CHECK(unchanged == "keep");
}

// Random token soup: parsing either succeeds or throws ExpressionError;
// evaluation either succeeds or throws EvaluationError; nothing else.
TEST_CASE("fuzzed expressions never crash") {
  const std::vector<std::string> tokens = {
      "$",     ".a",    ".arr", "[0]",   "[-1]",    "['s']",     "(",       ")",       "+",
      "-",     "*",     "/",    "%",     "==",      "!=",        "<",       "<=",      ">",
      ">=",    "&&",    "||",   "!",     "?",       ":",         "1",       "0",       "2.5",
      "'x'",   "\"y\"", "true", "null",  "length(", "split(",    "substr(", "number(", "string(",
      ",",     " ",     "[",    "]",     "'",       "\\",        "{",       "}",       "=",
      "1e400", "\xC3",  "abs(", "join(", "now(",    "contains(", "round("};
  const std::vector<json> inputs = {json(),      json::parse(kDoc), json::array({1, "a", nullptr}),
                                    json("str"), json(-1),          json(18446744073709551615u),
                                    json(1e308)};
  std::mt19937 rng(12345);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    int n = static_cast<int>(rng() % 12) + 1;
    for (int k = 0; k < n; ++k) text += tokens[rng() % tokens.size()];
    try {
      Expression e = Expression::Parse(text);
      ++parsed;
      for (const json& input : inputs) {
        try {
          e.Evaluate(input);
        } catch (const EvaluationError&) {
        }
      }
    } catch (const ExpressionError& err) {
      REQUIRE(err.position >= 1);
      REQUIRE(err.position <= text.size() + 1);
    }
  }
  CHECK(parsed > 100);  // the soup does produce valid expressions
}

TEST_CASE("odd inputs evaluate without crashing") {
  json deep = json::array();
  json* cursor = &deep;
  for (int i = 0; i < 1000; ++i) {
    cursor->push_back(json::array());
    cursor = &(*cursor)[0];
  }
  json binary = json::binary({1, 2, 3});
  CHECK(Expression::Parse("$[0][0][0]").Evaluate(deep).is_array());
  CHECK(Expression::Parse("length($)").Evaluate(deep) == 1);
  CHECK(Expression::Parse("string($)").Evaluate(deep).get<std::string>().size() == 2002);
  CHECK_THROWS_AS(Expression::Parse("length($)").Evaluate(binary), EvaluationError);
  CHECK_THROWS_AS(Expression::Parse("$ + 1").Evaluate(binary), EvaluationError);
  CHECK(Expression::Parse("!$").Evaluate(binary) == false);
  CHECK(Expression::Parse("18446744073709551615 > 1").Evaluate(json()) == true);
  CHECK(Expression::Parse("$ + 1").Evaluate(json(18446744073709551615u)) == 18446744073709551616.0);
  CHECK(Expression::Parse("$ == 18446744073709551615").Evaluate(json(18446744073709551615u)) ==
        true);
}

}  // namespace
