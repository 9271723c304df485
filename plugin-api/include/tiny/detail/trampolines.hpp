// tiny/detail/trampolines.hpp — the noexcept functions the host calls for a
// component (tiny_component::create/handle/destroy). Each turns an escaping
// exception into an answer or a log line, so none crosses the C ABI.
// Included by tiny/plugin.hpp; an author does not include it.
#ifndef TINY_DETAIL_TRAMPOLINES_HPP
#define TINY_DETAIL_TRAMPOLINES_HPP

#include <cstring>
#include <exception>
#include <type_traits>

namespace tiny {
namespace detail {

template <class C>
struct ComponentTrampolines {
  struct Instance {
    std::shared_ptr<Component> component;
  };

  static tiny_instance* create(const tiny_host_api* host, tiny_node* node) noexcept {
    try {
      auto component = std::make_shared<C>();
      ComponentAccess::attach(*component, node, blocking);
      return reinterpret_cast<tiny_instance*>(new Instance{std::move(component)});
    } catch (const std::exception& e) {
      std::string m = std::string("create failed: ") + e.what();
      host->log(host, node, TINY_LOG_ERROR, view(m));
    } catch (...) {
      host->log(host, node, TINY_LOG_ERROR, view("create failed"));
    }
    return nullptr;
  }

  static void handle(tiny_instance* instance, tiny_call* call, const char* port, tiny_bytes data) noexcept {
    Component& component = *reinterpret_cast<Instance*>(instance)->component;
    Message msg(&component, call, port, view(data));
    const bool settings = std::strcmp(port, "_settings") == 0;
    try {
      Reply reply = settings ? component.on_settings(msg.json()) : component.on_message(msg);
      if (msg.deferred()) return;  // the component owns the call now
      if (!answer(ComponentAccess::node(component), call, reply))
        fail_internal(component, call, "Reply::deferred() returned without Message::defer()");
    } catch (const Json::exception& e) {
      if (msg.deferred()) return;
      // Bad input is the sender's failure, not the component's: an error
      // reply. In `_settings`, any JSON type or range error (settings.at(),
      // get<int>() on a string) is a bad setting: the flow's failure, so a
      // plain error reply too (the host exits 2, not 1).
      if (settings || dynamic_cast<const Json::parse_error*>(&e) != nullptr) {
        std::string m = std::string(settings ? "bad settings: " : "input is not valid JSON: ") + e.what();
        complete(call, TINY_STATUS_OK, {}, m);
        return;
      }
      fail_internal(component, call, std::string("component threw: ") + e.what());
    } catch (const std::exception& e) {
      if (msg.deferred()) return;  // a Call object answered or will answer it
      fail_internal(component, call, std::string("component threw: ") + e.what());
    } catch (...) {
      if (msg.deferred()) return;
      fail_internal(component, call, "component threw a non-standard exception");
    }
  }

  static void destroy(tiny_instance* instance) noexcept {
    std::unique_ptr<Instance> owned(reinterpret_cast<Instance*>(instance));
    try {
      owned->component->on_destroy();
    } catch (...) {
      ComponentAccess::log_error(*owned->component, "on_destroy threw");
    }
    ComponentAccess::mark_destroyed(*owned->component);
  }

  // Set by ComponentSpec::blocking() before any instance exists.
  static inline bool blocking = false;

 private:
  // INTERNAL to the caller, and a log line: an exception is a bug the
  // operator should see even when nobody reads the answer (an emit's).
  static void fail_internal(Component& component, tiny_call* call, std::string_view message) {
    ComponentAccess::log_error(component, message);
    complete(call, TINY_STATUS_INTERNAL, {}, message);
  }
};

}  // namespace detail

template <class C>
ComponentSpec ComponentSpec::of(std::string name) {
  static_assert(std::is_base_of_v<Component, C>, "a component derives from tiny::Component");
  ComponentSpec spec;
  spec.name_ = std::move(name);
  spec.create_ = &detail::ComponentTrampolines<C>::create;
  spec.blocking_flag_ = &detail::ComponentTrampolines<C>::blocking;
  spec.handle_ = &detail::ComponentTrampolines<C>::handle;
  spec.destroy_ = &detail::ComponentTrampolines<C>::destroy;
  return spec;
}

}  // namespace tiny

#endif  // TINY_DETAIL_TRAMPOLINES_HPP
