/* The ABI 1.0 layout as a table of static assertions, shared by the C11 and
 * C++20 header tests and by the check of the frozen 1.0 header
 * (tests/loader/fixtures/abi_1_0/plugin.h): a reordered, resized or removed
 * field fails the build, whichever header it is compiled against. Include
 * it after a tiny/plugin.h. Offsets are those of the LP64 targets we ship
 * (x86-64, AArch64); on others only the ordering rules below are checked.
 *
 * A 1.x minor may append fields at the end of a struct that carries
 * struct_size; it never moves one of these. */
#ifndef TINY_TESTS_ABI_LAYOUT_H
#define TINY_TESTS_ABI_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define TINY_LAYOUT_ASSERT(cond, what) static_assert(cond, what)
#else
#define TINY_LAYOUT_ASSERT(cond, what) _Static_assert(cond, what)
#endif

#define TINY_AT(type, field, offset) TINY_LAYOUT_ASSERT(offsetof(type, field) == (offset), #type "." #field " moved")
#define TINY_SIZE(type, size) TINY_LAYOUT_ASSERT(sizeof(type) == (size), "sizeof " #type " changed")

/* Everywhere: the version is first, growable structs start with struct_size. */
TINY_AT(tiny_entry, abi, 0);
TINY_AT(tiny_abi_version, major, 0);
TINY_AT(tiny_abi_version, minor, 4);
TINY_SIZE(tiny_abi_version, 8);
TINY_AT(tiny_entry, struct_size, 8);
TINY_AT(tiny_host_api, struct_size, 0);
TINY_AT(tiny_component, struct_size, 0);
TINY_AT(tiny_timer_api, struct_size, 0);

#if UINTPTR_MAX == UINT64_MAX
TINY_AT(tiny_bytes, ptr, 0);
TINY_AT(tiny_bytes, len, 8);
TINY_SIZE(tiny_bytes, 16);

TINY_AT(tiny_result, status, 0);
TINY_AT(tiny_result, data, 8);
TINY_AT(tiny_result, error, 24);
TINY_SIZE(tiny_result, 40);

TINY_AT(tiny_host_api, abi, 4);
TINY_AT(tiny_host_api, complete, 16);
TINY_AT(tiny_host_api, emit, 24);
TINY_AT(tiny_host_api, log, 32);
TINY_AT(tiny_host_api, log_enabled, 40);
TINY_AT(tiny_host_api, get_extension, 48);
TINY_AT(tiny_host_api, node_name, 56);
TINY_SIZE(tiny_host_api, 64);

TINY_AT(tiny_port, name, 0);
TINY_AT(tiny_port, direction, 8);
TINY_AT(tiny_port, description, 16);
TINY_SIZE(tiny_port, 24);

TINY_AT(tiny_component, name, 8);
TINY_AT(tiny_component, description, 16);
TINY_AT(tiny_component, flags, 24);
TINY_AT(tiny_component, ports, 32);
TINY_AT(tiny_component, port_count, 40);
TINY_AT(tiny_component, default_settings_json, 48);
TINY_AT(tiny_component, create, 56);
TINY_AT(tiny_component, handle, 64);
TINY_AT(tiny_component, destroy, 72);
TINY_SIZE(tiny_component, 80);

TINY_AT(tiny_entry, module_name, 16);
TINY_AT(tiny_entry, module_version, 24);
TINY_AT(tiny_entry, init, 32);
TINY_AT(tiny_entry, deinit, 40);
TINY_AT(tiny_entry, component_count, 48);
TINY_AT(tiny_entry, get_component, 56);
TINY_AT(tiny_entry, get_extension, 64);
TINY_SIZE(tiny_entry, 72);

TINY_AT(tiny_timer_api, start, 8);
TINY_AT(tiny_timer_api, cancel, 16);
TINY_SIZE(tiny_timer_api, 24);
#endif

/* The numbers that cross the boundary as values. */
TINY_LAYOUT_ASSERT(TINY_STATUS_OK == 0 && TINY_STATUS_CANCELLED == 1 && TINY_STATUS_INVALID_ARGUMENT == 3 &&
                       TINY_STATUS_DEADLINE_EXCEEDED == 4 && TINY_STATUS_NOT_FOUND == 5 &&
                       TINY_STATUS_RESOURCE_EXHAUSTED == 8 && TINY_STATUS_FAILED_PRECONDITION == 9 &&
                       TINY_STATUS_INTERNAL == 13 && TINY_STATUS_UNAVAILABLE == 14,
                   "status codes are gRPC's");
TINY_LAYOUT_ASSERT(TINY_PORT_IN == 0 && TINY_PORT_OUT == 1, "port directions");
TINY_LAYOUT_ASSERT(TINY_TIMER_FIRED == 0 && TINY_TIMER_CANCELLED == 1, "timer events");
TINY_LAYOUT_ASSERT(TINY_COMPONENT_BLOCKING == 0x1u, "component flags");
TINY_LAYOUT_ASSERT(TINY_LOG_TRACE == 0 && TINY_LOG_ERROR == 4, "log levels");

#endif /* TINY_TESTS_ABI_LAYOUT_H */
