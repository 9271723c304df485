// example-module: one component, `greeter`, showing the SDK end to end.
//
//   in {"name": "Ada"}  ->  out {"text": "Hello, Ada!"}
//
// Settings {"greeting": "Hello"}. The answer to a delivery is the answer of
// the node downstream of `out` (a forward), so `tinyhost send` shows what
// the rest of the flow made of the greeting.
#include <tiny/plugin.hpp>
#include <tiny/settings.hpp>

#include <string>

namespace {

class Greeter final : public tiny::Component {
 public:
  // Runs once, before any message: a changed setting re-creates the node,
  // so greeting_ needs no lock.
  tiny::Reply on_settings(const tiny::Json& settings) override {
    tiny::SettingsReader in(settings);
    greeting_ = in.string("greeting");  // "setting 'greeting': must be a string, got 42"
    if (in.ok() && greeting_.empty()) in.fail("greeting", "must not be empty");
    return in.reply();
  }

  // May run concurrently on one instance: reads only greeting_, which is
  // fixed after on_settings.
  tiny::Reply on_message(tiny::Message& msg) override {
    const tiny::Json& in = msg.json();
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string())
      return tiny::Reply::error("in: expected {\"name\": string}");
    return tiny::Reply::forward(
        "out", tiny::Json{{"text", greeting_ + ", " + in["name"].get<std::string>() + "!"}});
  }

 private:
  std::string greeting_;
};

}  // namespace

TINY_MODULE("example-module", "1.0.0",
            tiny::ComponentSpec::of<Greeter>("greeter")
                .describe("Greets the {name} that arrives on in, on out")
                .settings({{"greeting", "Hello"}})
                .in("in", "{name: string}")
                .out("out", "{text: string}"))
