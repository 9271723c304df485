// router: sends {context} out of the port of the first route whose
// condition is true. Conditions arrive already evaluated by the edge
// mapping, one {route, condition} per entry.
#include <string>
#include <vector>

#include <tiny/settings.hpp>

#include "components.h"

namespace common_module {
namespace {

bool is_port_suffix(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

struct RouterConfig {
  std::vector<std::string> routes;
  bool default_port = false;
  bool has(const std::string& route) const {
    for (const auto& r : routes)
      if (r == route) return true;
    return false;
  }
};

class Router final : public tiny::Component {
 public:
  tiny::Reply on_settings(const tiny::Json& s) override {
    tiny::SettingsReader in(s);
    const tiny::Json& routes = in.value("routes");
    config_.default_port = in.boolean("enableDefaultPort");
    if (!in.ok()) return in.reply();
    if (!routes.is_array()) in.fail("routes", "must be an array of route names");
    for (size_t i = 0; in.ok() && i < routes.size(); ++i) {
      const tiny::Json& r = routes[i];
      std::string key = "routes[" + std::to_string(i) + "]";
      if (!r.is_string() || !is_port_suffix(r.get<std::string>()))
        in.fail(key, "must be a name of [a-z0-9_]+, got " + tiny::describe(r));
      else if (config_.has(r.get<std::string>()))
        in.fail(key, "repeats the route " + r.dump());
      else
        config_.routes.push_back(r.get<std::string>());
    }
    return in.reply();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    const tiny::Json* body = msg.try_json();
    if (!body || !body->is_object())
      return tiny::Reply::error("input must be an object {context, conditions: [{route, condition}]}");
    tiny::Json out = {{"context", body->value("context", tiny::Json())}};
    const tiny::Json conditions = body->value("conditions", tiny::Json::array());
    if (!conditions.is_array()) return tiny::Reply::error("conditions must be an array of {route, condition}");

    // Validate every entry (a typo in a later route is still a typo), then
    // take the first true one.
    const std::string* chosen = nullptr;
    for (size_t i = 0; i < conditions.size(); ++i) {
      const tiny::Json& c = conditions[i];
      std::string where = "conditions[" + std::to_string(i) + "]";
      if (!c.is_object()) return tiny::Reply::error(where + " must be an object {route, condition}");
      auto route = c.find("route");
      if (route == c.end() || !route->is_string())
        return tiny::Reply::error(where + ".route must be a route name");
      const std::string& name = route->get_ref<const std::string&>();
      if (!config_.has(name))
        return tiny::Reply::error(where + ".route " + route->dump() + " is not one of the configured routes");
      auto cond = c.find("condition");
      // null is what a failed mapping expression yields: it counts as false.
      if (cond != c.end() && !cond->is_boolean() && !cond->is_null())
        return tiny::Reply::error(where + ".condition must be true or false, got " + tiny::describe(*cond));
      if (chosen == nullptr && cond != c.end() && cond->is_boolean() && cond->get<bool>()) chosen = &name;
    }
    if (chosen != nullptr) return tiny::Reply::forward("out_" + *chosen, out);
    if (config_.default_port) return tiny::Reply::forward("default", out);
    return tiny::Reply::error("no route condition is true and the default port is disabled");
  }

 private:
  RouterConfig config_;  // settings: fixed before the first message
};

}  // namespace

tiny::ComponentSpec router_spec() {
  return tiny::ComponentSpec::of<Router>("router")
      .describe("Sends the context out of the port of the first route whose condition is true")
      .settings({{"routes", tiny::Json::array()}, {"enableDefaultPort", false}})
      .in("input", "{context, conditions: [{route, condition}]}")
      .out("out_*", "out_<route>: {context}")
      .out("default", "{context} when no condition is true (enableDefaultPort)");
}

}  // namespace common_module
