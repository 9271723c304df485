// router: sends {context} out of the port of the first route whose
// condition is true. Conditions arrive already evaluated by the edge
// mapping, one {route, condition} per entry.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "components.h"
#include "json_input.h"

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
    auto config = std::make_shared<RouterConfig>();
    const tiny::Json& routes = s.at("routes");
    if (!routes.is_array()) return tiny::Reply::error("routes must be an array of route names");
    for (size_t i = 0; i < routes.size(); ++i) {
      const tiny::Json& r = routes[i];
      if (!r.is_string() || !is_port_suffix(r.get<std::string>()))
        return tiny::Reply::error("routes[" + std::to_string(i) + "] must be a name of [a-z0-9_]+, got " + describe(r));
      if (config->has(r.get<std::string>()))
        return tiny::Reply::error("routes[" + std::to_string(i) + "] repeats the route " + r.dump());
      config->routes.push_back(r.get<std::string>());
    }
    if (!s.at("enableDefaultPort").is_boolean()) return tiny::Reply::error("enableDefaultPort must be true or false");
    config->default_port = s.at("enableDefaultPort").get<bool>();
    std::lock_guard<std::mutex> lock(mu_);
    config_ = std::move(config);
    return tiny::Reply::empty();
  }

  tiny::Reply on_message(tiny::Message& msg) override {
    if (msg.port() != "input") return tiny::Reply::error("router has no input port " + std::string(msg.port()));
    auto body = parse_body(msg.data());
    if (!body || !body->is_object())
      return tiny::Reply::error("input must be an object {context, conditions: [{route, condition}]}");
    std::shared_ptr<const RouterConfig> config;
    {
      std::lock_guard<std::mutex> lock(mu_);
      config = config_;
    }
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
      if (!config->has(name))
        return tiny::Reply::error(where + ".route " + route->dump() + " is not one of the configured routes");
      auto cond = c.find("condition");
      // null is what a failed mapping expression yields: it counts as false.
      if (cond != c.end() && !cond->is_boolean() && !cond->is_null())
        return tiny::Reply::error(where + ".condition must be true or false, got " + describe(*cond));
      if (chosen == nullptr && cond != c.end() && cond->is_boolean() && cond->get<bool>()) chosen = &name;
    }
    if (chosen != nullptr) return tiny::Reply::forward("out_" + *chosen, out);
    if (config->default_port) return tiny::Reply::forward("default", out);
    return tiny::Reply::error("no route condition is true and the default port is disabled");
  }

 private:
  std::mutex mu_;  // guards config_ (the pointer; the config is immutable)
  std::shared_ptr<const RouterConfig> config_ = std::make_shared<RouterConfig>();
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
