/* tiny/plugin.h compiles as strict C11 (-std=c11 -Wall -Wextra -Wpedantic
 * -Werror) and keeps the layout rules of the ABI: the version is the first
 * field of the entry, and every growable struct starts with struct_size. */
#include <tiny/plugin.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Every field offset of ABI 1.0: a reordered field fails the build. */
#include "abi_layout.h"

_Static_assert(TINY_ABI_VERSION_MAJOR >= 1, "ABI major starts at 1");

/* The documented way to define an entry compiles as C. */
static const char* test_init(const tiny_host_api* host) {
  (void)host;
  return NULL;
}
static void test_deinit(void) {}
static uint32_t test_count(void) { return 0u; }
static const tiny_component* test_get(uint32_t index) {
  (void)index;
  return NULL;
}
static const void* test_extension(const char* id) {
  (void)id;
  return NULL;
}
static const tiny_entry test_entry = {
    {TINY_ABI_VERSION_MAJOR, TINY_ABI_VERSION_MINOR}, sizeof(tiny_entry), "abi-test", "0.0.0",
    &test_init, &test_deinit, &test_count, &test_get, &test_extension};

int main(void) {
  tiny_abi_version first;
  /* What a host does: read the first bytes of the entry as the version. */
  memcpy(&first, &test_entry, sizeof first);
  if (first.major != TINY_ABI_VERSION_MAJOR || first.minor != TINY_ABI_VERSION_MINOR) {
    fprintf(stderr, "FAIL: the first bytes of tiny_entry are not its ABI version\n");
    return 1;
  }
  {
    /* The version rule as code: equal major, plugin minor not newer. */
    const tiny_abi_version host = {1, 2}, same = {1, 2}, older = {1, 0}, newer = {1, 3}, other = {2, 0};
    if (!tiny_abi_compatible(host, same) || !tiny_abi_compatible(host, older) ||
        tiny_abi_compatible(host, newer) || tiny_abi_compatible(host, other) ||
        tiny_abi_compatible(other, host)) {
      fprintf(stderr, "FAIL: tiny_abi_compatible does not follow the version rule\n");
      return 1;
    }
  }
  if (strcmp(TINY_PLUGIN_ENTRY_SYMBOL, "tiny_plugin_entry") != 0) {
    fprintf(stderr, "FAIL: TINY_PLUGIN_ENTRY_SYMBOL is '%s'\n", TINY_PLUGIN_ENTRY_SYMBOL);
    return 1;
  }
  if (test_entry.init(NULL) != NULL || test_entry.component_count() != 0u) {
    fprintf(stderr, "FAIL: the entry's function pointers do not call through\n");
    return 1;
  }
  printf("abi_header_test (C11, __STDC_VERSION__ %ld): ABI %u.%u, sizeof tiny_entry %zu, tiny_host_api %zu, "
         "tiny_component %zu, tiny_timer_api %zu\n",
         (long)__STDC_VERSION__, (unsigned)TINY_ABI_VERSION_MAJOR, (unsigned)TINY_ABI_VERSION_MINOR,
         sizeof(tiny_entry), sizeof(tiny_host_api), sizeof(tiny_component), sizeof(tiny_timer_api));
  return 0;
}
