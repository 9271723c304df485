// tiny/detail/module.hpp — the module behind TINY_MODULE: the component
// table and the functions of the exported tiny_entry. Included by
// tiny/plugin.hpp; an author does not include it.
#ifndef TINY_DETAIL_MODULE_HPP
#define TINY_DETAIL_MODULE_HPP

namespace tiny::detail {

// The component table: the specs and their C descriptors, which point
// into the specs (so the table never moves once built).
class Module {
 public:
  explicit Module(std::vector<ComponentSpec> specs) : specs_(std::move(specs)) {
    for (auto& s : specs_) descriptors_.push_back(s.descriptor());
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  uint32_t count() const { return static_cast<uint32_t>(descriptors_.size()); }
  const tiny_component* get(uint32_t i) const { return i < descriptors_.size() ? descriptors_[i] : nullptr; }

 private:
  std::vector<ComponentSpec> specs_;
  std::vector<const tiny_component*> descriptors_;
};

// The entry's functions for the module that `instance` builds on first use.
template <const Module& (*instance)()>
struct ModuleEntry {
  static const char* init(const tiny_host_api* host) noexcept {
    if (const char* err = init_host(host)) return err;
    try {
      (void)instance();
    } catch (...) {
      return "module failed to build its component table";
    }
    return nullptr;
  }
  static void deinit() noexcept {}
  static uint32_t count() noexcept { return instance().count(); }
  static const tiny_component* get(uint32_t i) noexcept { return instance().get(i); }
  static const void* extension(const char*) noexcept { return nullptr; }

  // A constant expression, so the entry is initialised before any code of
  // the plugin runs.
  static constexpr tiny_entry make(const char* module_name, const char* module_version) {
    return tiny_entry{{TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR},
                      sizeof(tiny_entry),
                      module_name,
                      module_version,
                      &init,
                      &deinit,
                      &count,
                      &get,
                      &extension};
  }
};

}  // namespace tiny::detail

#endif  // TINY_DETAIL_MODULE_HPP
