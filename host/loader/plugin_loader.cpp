#include "host/loader/plugin_loader.h"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "host/base/names.h"
#include "host/base/result.h"

namespace tiny::host {
namespace {

// The smallest entry/component a 1.0 plugin may present.
constexpr size_t kMinEntrySize = offsetof(tiny_entry, get_extension) + sizeof(void*);
constexpr size_t kMinComponentSize = offsetof(tiny_component, destroy) + sizeof(void*);

// Libraries are never unloaded while the process runs.
std::vector<boost::dll::shared_library>& LoadedLibraries() {
  static auto* libs = new std::vector<boost::dll::shared_library>();
  return *libs;
}

Result CheckComponent(const tiny_component* c, uint32_t index, ComponentType* out) {
  std::string where = "component #" + std::to_string(index);
  if (c == nullptr) return Result::Error(where + " is NULL");
  if (c->struct_size < kMinComponentSize)
    return Result::Error(where + " has struct_size " + std::to_string(c->struct_size) + ", too small");
  if (c->name == nullptr || !IsComponentName(c->name))
    return Result::Error(where + " has an invalid name (want [a-z0-9_]+)");
  where = "component '" + std::string(c->name) + "'";
  if (!c->create || !c->handle || !c->destroy) return Result::Error(where + " lacks create, handle or destroy");
  if (c->port_count > 0 && c->ports == nullptr) return Result::Error(where + " declares ports but no port array");
  for (uint32_t i = 0; i < c->port_count; ++i) {
    const tiny_port& p = c->ports[i];
    std::string name = p.name ? p.name : "";
    std::string bare = !name.empty() && name.back() == '*' ? name.substr(0, name.size() - 1) : name;
    if (!IsPortName(bare)) return Result::Error(where + " has an invalid port name '" + name + "'");
    if (p.direction != TINY_PORT_IN && p.direction != TINY_PORT_OUT)
      return Result::Error(where + " port '" + name + "' has an unknown direction");
  }
  nlohmann::json defaults = nlohmann::json::object();
  if (c->default_settings_json != nullptr && *c->default_settings_json != '\0') {
    defaults = nlohmann::json::parse(c->default_settings_json, nullptr, false);
    if (defaults.is_discarded() || !defaults.is_object())
      return Result::Error(where + " default settings are not a JSON object");
  }
  out->desc = c;
  out->name = c->name;
  out->default_settings = defaults.dump();
  out->blocking = (c->flags & TINY_COMPONENT_BLOCKING) != 0;
  return Result::Ok();
}

}  // namespace

// Entries whose init ran and whose deinit has not, by the file that loaded them.
std::map<const tiny_entry*, std::string>& InitialisedEntries() {
  static auto* entries = new std::map<const tiny_entry*, std::string>();
  return *entries;
}

bool ComponentType::HasInput(std::string_view port) const {
  for (uint32_t i = 0; i < desc->port_count; ++i)
    if (desc->ports[i].direction == TINY_PORT_IN && PortMatches(desc->ports[i].name, port)) return true;
  return false;
}

bool ComponentType::HasOutput(std::string_view port) const {
  for (uint32_t i = 0; i < desc->port_count; ++i)
    if (desc->ports[i].direction == TINY_PORT_OUT && PortMatches(desc->ports[i].name, port)) return true;
  return false;
}

const ComponentType* Plugin::FindComponent(std::string_view name) const {
  for (const auto& c : components)
    if (c.name == name) return &c;
  return nullptr;
}

void Plugin::Deinit() {
  if (!initialised) return;
  if (entry->deinit) entry->deinit();
  initialised = false;
  InitialisedEntries().erase(entry);
}

std::unique_ptr<Plugin> LoadPlugin(const std::string& path, const tiny_host_api* host) {
  namespace dll = boost::dll;
  dll::shared_library lib;
  std::error_code ec;
  lib.load(std::filesystem::path(path), ec, dll::load_mode::rtld_now | dll::load_mode::rtld_local);
  if (ec) {
    std::string detail = ec.message();
    if (const char* dl = dlerror()) detail = dl;
    // dlerror() starts with the path; the error line names it already.
    if (detail.rfind(path + ": ", 0) == 0) detail.erase(0, path.size() + 2);
    throw PluginLoadError(path, "cannot load shared object: " + detail);
  }
  if (!lib.has(TINY_PLUGIN_ENTRY_SYMBOL))
    throw PluginLoadError(path, "no '" TINY_PLUGIN_ENTRY_SYMBOL "' symbol: not a tinyhost plugin");
  const auto& entry = lib.get<const tiny_entry>(TINY_PLUGIN_ENTRY_SYMBOL);
  // A symlink or hard link to a library already loaded maps the same code:
  // its init must not run twice.
  if (auto it = InitialisedEntries().find(&entry); it != InitialisedEntries().end())
    throw PluginLoadError(path, "same library as " + it->second + " (loaded already)");

  auto plugin = std::make_unique<Plugin>();
  plugin->file = path;
  plugin->entry = &entry;
  const std::string host_abi =
      std::to_string(TINY_ABI_VERSION_MAJOR) + "." + std::to_string(TINY_ABI_VERSION_MINOR);
  const std::string plugin_abi = std::to_string(entry.abi.major) + "." + std::to_string(entry.abi.minor);
  // The rule is tiny_abi_compatible (plugin.h); the branches only choose
  // which of its two failures to name.
  if (!tiny_abi_compatible({TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR}, entry.abi)) {
    if (entry.abi.major != TINY_ABI_VERSION_MAJOR)
      throw PluginLoadError(path, "ABI major version mismatch: plugin " + plugin_abi + ", host " + host_abi);
    throw PluginLoadError(path, "plugin needs a newer host: plugin ABI " + plugin_abi + ", host " + host_abi);
  }
  if (entry.struct_size < kMinEntrySize)
    throw PluginLoadError(path, "entry struct_size " + std::to_string(entry.struct_size) + " is too small");
  if (entry.module_name == nullptr || !IsDnsLabel(entry.module_name))
    throw PluginLoadError(path, "module name is not a DNS label");
  if (entry.module_version == nullptr || *entry.module_version == '\0')
    throw PluginLoadError(path, "module version is empty");
  if (!entry.init || !entry.component_count || !entry.get_component)
    throw PluginLoadError(path, "entry lacks init, component_count or get_component");
  plugin->module = entry.module_name;
  plugin->version = entry.module_version;

  // From here the library's code has run: it stays mapped (rule 8).
  LoadedLibraries().push_back(std::move(lib));
  if (const char* err = entry.init(host)) throw PluginLoadError(path, std::string("init failed: ") + err);
  plugin->initialised = true;
  InitialisedEntries()[&entry] = path;

  uint32_t count = entry.component_count();
  for (uint32_t i = 0; i < count; ++i) {
    ComponentType type;
    type.module = plugin->module;
    if (Result r = CheckComponent(entry.get_component(i), i, &type); !r.ok()) {
      plugin->Deinit();
      throw PluginLoadError(path, r.message());
    }
    if (plugin->FindComponent(type.name)) {
      plugin->Deinit();
      throw PluginLoadError(path, "component '" + type.name + "' is declared twice");
    }
    plugin->components.push_back(std::move(type));
  }
  return plugin;
}

std::vector<std::string> ListPluginFiles(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw PluginLoadError(dir, "cannot read plugin directory: " + ec.message());
  for (const auto& e : it)
    if (e.path().extension() == ".so") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace tiny::host
