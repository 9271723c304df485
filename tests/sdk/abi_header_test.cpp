// tiny/plugin.h compiles as C++20 (-Wall -Wextra -Wpedantic -Werror) with
// the same layout as in C: the version is the first field of the entry,
// every growable struct starts with struct_size, and every ABI struct is a
// plain C struct (standard layout, trivially copyable).
#include <tiny/plugin.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <type_traits>

// Every field offset of ABI 1.0, shared with the C11 test.
#include "abi_layout.h"

template <typename T>
constexpr bool kPlainC = std::is_standard_layout_v<T> && std::is_trivially_copyable_v<T>;
static_assert(kPlainC<tiny_abi_version> && kPlainC<tiny_bytes> && kPlainC<tiny_result> && kPlainC<tiny_port> &&
                  kPlainC<tiny_component> && kPlainC<tiny_host_api> && kPlainC<tiny_entry> &&
                  kPlainC<tiny_timer_api>,
              "every ABI struct must be a plain C struct");
static_assert(std::string_view(TINY_PLUGIN_ENTRY_SYMBOL) == "tiny_plugin_entry");
static_assert(std::is_same_v<decltype(tiny_entry::init), const char* (*)(const tiny_host_api*)>);

namespace {
const char* Init(const tiny_host_api*) { return nullptr; }
void Deinit() {}
uint32_t Count() { return 0; }
const tiny_component* Get(uint32_t) { return nullptr; }
const void* Extension(const char*) { return nullptr; }

// The documented entry, with C++20 designated initializers in field order.
constexpr tiny_entry kEntry = {.abi = {TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR},
                               .struct_size = sizeof(tiny_entry),
                               .module_name = "abi-test",
                               .module_version = "0.0.0",
                               .init = &Init,
                               .deinit = &Deinit,
                               .component_count = &Count,
                               .get_component = &Get,
                               .get_extension = &Extension};
}  // namespace

int main() {
  tiny_abi_version first{};
  std::memcpy(&first, &kEntry, sizeof first);
  if (first.major != TINY_ABI_VERSION_MAJOR || first.minor != TINY_ABI_VERSION_MINOR) {
    std::fprintf(stderr, "FAIL: the first bytes of tiny_entry are not its ABI version\n");
    return 1;
  }
  if (kEntry.init(nullptr) != nullptr || kEntry.component_count() != 0) {
    std::fprintf(stderr, "FAIL: the entry's function pointers do not call through\n");
    return 1;
  }
  std::printf("abi_header_test (C++ %ld): ABI %u.%u, sizeof tiny_entry %zu, tiny_host_api %zu, "
              "tiny_component %zu, tiny_timer_api %zu\n",
              static_cast<long>(__cplusplus), unsigned{TINY_ABI_VERSION_MAJOR}, unsigned{TINY_ABI_VERSION_MINOR},
              sizeof(tiny_entry), sizeof(tiny_host_api), sizeof(tiny_component), sizeof(tiny_timer_api));
  return 0;
}
