// Happens-before edges ThreadSanitizer cannot see for itself: a hand-over
// through gRPC (a completion queue tag, an async callback), which Debian
// builds without TSan instrumentation. No-ops in every other build.
#pragma once

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
// What this thread wrote before is visible to the thread that runs
// TINY_HANDED_OVER on the same address.
#define TINY_HAND_OVER(addr) __tsan_release(static_cast<void*>(addr))
#define TINY_HANDED_OVER(addr) __tsan_acquire(static_cast<void*>(addr))
#else
#define TINY_HAND_OVER(addr) ((void)(addr))
#define TINY_HANDED_OVER(addr) ((void)(addr))
#endif
