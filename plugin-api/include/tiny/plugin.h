/*
 * tiny/plugin.h — the tinyhost plugin ABI (pure C, C11 and C++20).
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `tiny_plugin_entry`, of type `tiny_entry`. Everything a plugin needs from
 * the host reaches it through the `tiny_host_api` function table passed to
 * `init`, so a plugin has no undefined reference into the host.
 *
 * Conventions used in every comment below:
 *  - [thread: any]   may be called from any thread, concurrently.
 *  - [thread: host]  called by the host from a thread it chooses; never
 *                    concurrently with another [thread: host] call on the
 *                    same object unless stated.
 *  - "borrowed"      the pointer is valid only until the function returns;
 *                    copy what you keep.
 *  - "static"        the pointer must stay valid until `deinit` returns.
 *  - Nobody frees memory allocated by the other side.
 *  - Strings are UTF-8. `const char*` strings are NUL-terminated.
 *  - No C++ exception may cross this boundary in either direction.
 *
 * Who implements what (after CLAP, and Envoy's `_on_`/`_callback_`):
 *  - `tiny_host_*` tables (`tiny_host_api`, `tiny_host_timer_api`,
 *    `tiny_host_metrics_api`, `tiny_host_trace_api`) are implemented by the
 *    host and called by the plugin.
 *  - `tiny_entry` and `tiny_component`, and the callbacks `*_fn`, are
 *    implemented by the plugin and called by the host.
 *  Each table's banner below repeats which side it is.
 *
 * ---------------------------------------------------------------------
 * The asynchronous contract (the rule everything rests on)
 * ---------------------------------------------------------------------
 *  1. The host delivers a message to a node by calling
 *     `tiny_component.handle(instance, call, port, data)`. The component
 *     answers by calling `host->complete(call, &result)` EXACTLY ONCE, either
 *     before `handle` returns or later from any thread. Until then the call
 *     is "open"; after `complete` the call handle is dead.
 *  2. A component sends by calling `host->emit(node, cause, port, data,
 *     done, user)`. The host invokes `done(user, &result)` EXACTLY ONCE with
 *     the downstream answer, from any thread, possibly before `emit`
 *     returns. `emit` never blocks waiting for the answer.
 *  3. Forwarding: a component may answer an open call with the answer of an
 *     emit by passing that call as `cause` and completing it from `done`
 *     (see tiny/plugin.hpp `forward`). The result is passed through as is,
 *     status included, so routing failures reach the original caller.
 *  4. `cause` links an emit to the open call that caused it: the host
 *     propagates the hop counter (cycle detection), deadline and trace
 *     metadata from it. Pass NULL for spontaneous emits (timers, servers).
 *  5. Nothing in this ABI lets a thread wait for another host; a component
 *     that must block (sleep, blocking I/O, waiting for an emit's answer)
 *     sets TINY_COMPONENT_BLOCKING and is run on the host's bounded worker
 *     pool. Every other `handle` runs inline on the delivering thread and
 *     must return promptly.
 *
 * Versioning: a plugin built against ABI {M, m} loads into a host of ABI
 * {M', m'} iff M == M' and m <= m' (`tiny_abi_compatible`). Structs that may grow carry
 * `struct_size` (the size the writer was compiled with) and only grow at the
 * end; a reader must not touch fields past `struct_size`.
 */
#ifndef TINY_PLUGIN_H
#define TINY_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TINY_ABI_VERSION_MAJOR 1
#define TINY_ABI_VERSION_MINOR 0

#if defined(_WIN32)
#define TINY_PLUGIN_EXPORT __declspec(dllexport)
#else
#define TINY_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* The one symbol a plugin exports. */
#define TINY_PLUGIN_ENTRY_SYMBOL "tiny_plugin_entry"

typedef struct tiny_abi_version {
  uint32_t major;
  uint32_t minor;
} tiny_abi_version;

/*
 * The version rule as code, shared by the host's loader and the SDK: a
 * plugin built against `plugin` runs in a host of `host` iff the majors are
 * equal and the plugin's minor is not newer. Returns 1 if so, else 0.
 * [thread: any]
 */
static inline int tiny_abi_compatible(tiny_abi_version host, tiny_abi_version plugin) {
  return host.major == plugin.major && plugin.minor <= host.minor;
}

/* A borrowed byte view. `ptr` may be NULL iff `len` is 0. */
typedef struct tiny_bytes {
  const uint8_t* ptr;
  size_t len;
} tiny_bytes;

/*
 * Status codes. The numbers are gRPC's, so a result travels across hosts
 * unchanged. A component's own failure is TINY_STATUS_OK with a non-empty
 * `error` (it becomes Response.error); the other codes are routing or
 * transport failures and become the gRPC status of the Send call.
 */
typedef enum tiny_status {
  TINY_STATUS_OK = 0,
  TINY_STATUS_CANCELLED = 1,
  TINY_STATUS_INVALID_ARGUMENT = 3,
  TINY_STATUS_DEADLINE_EXCEEDED = 4,
  TINY_STATUS_NOT_FOUND = 5,
  TINY_STATUS_RESOURCE_EXHAUSTED = 8,
  TINY_STATUS_FAILED_PRECONDITION = 9,
  TINY_STATUS_INTERNAL = 13,
  TINY_STATUS_UNAVAILABLE = 14
} tiny_status;

/*
 * The answer to one delivery.
 *  - status OK, error empty:     `data` is the JSON answer (empty = no data).
 *  - status OK, error non-empty: the component failed; `error` says why.
 *  - status not OK:              routing/transport failure; `error` says why.
 * All views are borrowed for the duration of the call that carries them.
 */
typedef struct tiny_result {
  int32_t status; /* a tiny_status value */
  tiny_bytes data;
  tiny_bytes error;
} tiny_result;

/* Log levels, matching spdlog's order. */
typedef enum tiny_log_level {
  TINY_LOG_TRACE = 0,
  TINY_LOG_DEBUG = 1,
  TINY_LOG_INFO = 2,
  TINY_LOG_WARN = 3,
  TINY_LOG_ERROR = 4
} tiny_log_level;

/* Opaque handles. */
typedef struct tiny_call tiny_call;         /* host-owned: one open delivery */
typedef struct tiny_node tiny_node;         /* host-owned: one node of a flow */
typedef struct tiny_instance tiny_instance; /* plugin-owned: one component instance */

/*
 * [implemented by: plugin] Receives the answer to an emit. Called exactly once per emit, from any
 * thread, possibly before `emit` returns. `result` and its views are
 * borrowed. [thread: any]
 */
typedef void (*tiny_emit_done_fn)(void* user, const tiny_result* result);

/* ----------------------------------------------------------------------
 * [implemented by: host] The host's services, passed to `init` and
 * `create`; the plugin calls them.
 * -------------------------------------------------------------------- */
typedef struct tiny_host_api {
  uint32_t struct_size;
  tiny_abi_version abi; /* the host's ABI version */

  /*
   * Answers an open call. Copies `result`; the caller keeps ownership of
   * what it points to. Must be called exactly once per call; afterwards the
   * call handle is dead. `result` must not be NULL. [thread: any]
   */
  void (*complete)(tiny_call* call, const tiny_result* result);

  /*
   * Sends `data` (JSON, borrowed, may be empty) out of output `port`
   * (borrowed) of `node`. `cause` is an open call of this node that caused
   * the emit, or NULL (see the contract above); it stays open and owned by
   * the plugin. The host copies what it keeps, follows the node's edges and
   * calls `done(user, result)` exactly once with the combined answer: the
   * first non-empty data in edge order, else the first error, else empty.
   * A port with no edges answers empty at once. `done` may be NULL: the
   * answer is then dropped. `node` must be a live node (between `create`
   * and the return of `destroy`). [thread: any]
   */
  void (*emit)(tiny_node* node, const tiny_call* cause, const char* port,
               tiny_bytes data, tiny_emit_done_fn done, void* user);

  /*
   * Writes one log line attributed to `node` (NULL: the module). `message`
   * is borrowed. Cheap when the level is disabled. [thread: any]
   */
  void (*log)(const struct tiny_host_api* host, tiny_node* node,
              int32_t level, tiny_bytes message);

  /* True iff a line of `level` would be written. [thread: any] */
  int32_t (*log_enabled)(const struct tiny_host_api* host, int32_t level);

  /*
   * Looks up an optional host feature by id with revision, e.g.
   * TINY_EXT_TIMER. Returns a static table, or NULL when the host does not
   * offer it. `id` is borrowed. [thread: any]
   */
  const void* (*get_extension)(const struct tiny_host_api* host,
                               const char* id);

  /* The node's name as written in the flow file; static while the node
   * lives. [thread: any] */
  const char* (*node_name)(tiny_node* node);
} tiny_host_api;

/* ----------------------------------------------------------------------
 * [implemented by: plugin] Components and the module entry; the host
 * calls them.
 * -------------------------------------------------------------------- */

typedef enum tiny_port_direction {
  TINY_PORT_IN = 0,  /* the node receives on it (edges point to it) */
  TINY_PORT_OUT = 1  /* the node emits on it (edges start from it) */
} tiny_port_direction;

/*
 * A declared port. A name ending in '*' declares a family: any name with
 * that prefix followed by [a-z0-9_]+ (the router's `out_*`). Ports whose
 * name starts with '_' are system ports (`_settings`, `_control`).
 */
typedef struct tiny_port {
  const char* name;        /* static */
  int32_t direction;       /* tiny_port_direction */
  const char* description; /* static, may be NULL */
} tiny_port;

/* Component flags. */
#define TINY_COMPONENT_BLOCKING 0x1u /* `handle` may block: run on workers */

typedef struct tiny_component {
  uint32_t struct_size;
  const char* name;        /* static; [a-z0-9_]+, unique in the module */
  const char* description; /* static, may be NULL */
  uint32_t flags;          /* TINY_COMPONENT_* */
  const tiny_port* ports;  /* static array of port_count ports */
  uint32_t port_count;
  /*
   * Static JSON object of the settings the component accepts, with their
   * defaults ("{}" or NULL: none). The host rejects a flow whose settings
   * name any other key, and delivers defaults overlaid with the flow's
   * settings on the `_settings` port before any other message.
   */
  const char* default_settings_json;

  /*
   * Creates an instance for `node` (live until `destroy` returns). Returns
   * NULL on failure after logging why. [thread: host]
   */
  tiny_instance* (*create)(const tiny_host_api* host, tiny_node* node);

  /*
   * Delivers `data` (borrowed JSON, may be empty) arriving on input `port`
   * (borrowed). The instance must complete `call` exactly once (see the
   * contract above). May run concurrently on the same instance, on any
   * host thread, and must return promptly unless the component is
   * TINY_COMPONENT_BLOCKING. The host never calls `handle` once `destroy`
   * has begun. [thread: any]
   *
   * `_settings`: the first delivery to a new instance, exactly once and
   * before any other message, is on port "_settings" and carries its
   * settings (the defaults overlaid with the flow's). Settings never change
   * on a live instance: a flow whose settings for the node change makes
   * the host destroy the node and create a new one. Complete it with status
   * OK and no error to accept them. An error (status OK or
   * INVALID_ARGUMENT, with `error` set) rejects a bad setting: the node
   * does not start and `tinyhost run` exits 2 naming the node and your
   * message (a hot reload is rolled back). Another status (e.g.
   * UNAVAILABLE for a port in use) says the environment failed: exit 1.
   */
  void (*handle)(tiny_instance* instance, tiny_call* call, const char* port,
                 tiny_bytes data);

  /*
   * Destroys the instance. Called once, when no `handle` is running and
   * after the host cancelled the node's timers. Must complete every call
   * the instance still holds open, stop its own threads, and return only
   * when the instance will emit no more. Emit `done` callbacks may still
   * arrive afterwards: the plugin keeps alive what their `user` needs.
   * [thread: host]
   */
  void (*destroy)(tiny_instance* instance);
} tiny_component;

/*
 * The exported entry. Its first field is the ABI version, so a host can
 * read it before trusting anything else.
 */
typedef struct tiny_entry {
  tiny_abi_version abi; /* TINY_ABI_VERSION_MAJOR/MINOR at build time */
  uint32_t struct_size; /* sizeof(tiny_entry) at build time */
  const char* module_name;    /* static; a DNS label, e.g. "common-module" */
  const char* module_version; /* static; semver, e.g. "1.2.0" */

  /*
   * Called once after loading, before anything else. `host` is static
   * (valid until `deinit` returns). Returns NULL on success, or a static
   * message saying why the module cannot run. [thread: host]
   */
  const char* (*init)(const tiny_host_api* host);

  /* Called once after every instance is destroyed and every host thread
   * joined. Never called when `init` failed. [thread: host] */
  void (*deinit)(void);

  /* Components of the module; stable between init and deinit.
   * [thread: any] */
  uint32_t (*component_count)(void);
  const tiny_component* (*get_component)(uint32_t index); /* static */

  /* Optional plugin features by id, for the host; NULL if none.
   * [thread: any] */
  const void* (*get_extension)(const char* id);
} tiny_entry;

/* ----------------------------------------------------------------------
 * [implemented by: host] Extension "tiny.timer/1": host timers, so a
 * component needs no thread. Returned by `tiny_host_api.get_extension`.
 * -------------------------------------------------------------------- */
#define TINY_EXT_TIMER "tiny.timer/1"

typedef enum tiny_timer_event {
  TINY_TIMER_FIRED = 0,     /* the delay elapsed */
  TINY_TIMER_CANCELLED = 1  /* cancelled by `cancel` or at node teardown */
} tiny_timer_event;

/*
 * [implemented by: plugin] Called exactly once per started timer: FIRED on a host timer thread when
 * due, or CANCELLED (from inside `cancel`, or by the host before the node
 * is destroyed). Either way it is the last use of `user`. Must return
 * promptly. [thread: any]
 */
typedef void (*tiny_timer_fn)(void* user, int32_t event);

typedef struct tiny_host_timer_api {
  uint32_t struct_size;
  /*
   * Calls `fn(user, ...)` once after `delay_ms`. Returns a timer id > 0, or
   * 0 when the node is being destroyed (then `fn` is never called).
   * [thread: any]
   */
  uint64_t (*start)(tiny_node* node, uint64_t delay_ms, tiny_timer_fn fn,
                    void* user);
  /*
   * Cancels a pending timer: returns 1 after calling `fn(user, CANCELLED)`,
   * or 0 when the timer already fired, is firing, or is unknown.
   * [thread: any]
   */
  int32_t (*cancel)(tiny_node* node, uint64_t timer_id);
} tiny_host_timer_api;

/* The 1.0 name of the same type, kept for source compatibility. */
typedef tiny_host_timer_api tiny_timer_api;

/* ----------------------------------------------------------------------
 * [implemented by: host] Extension "tiny.metrics/1": a node's own counters
 * and latency histograms, served on the host's /metrics (when an admin
 * listener runs; otherwise recording is a no-op). Each series carries the
 * labels node, module and component, and `code` for a counter added to
 * with a code.
 * -------------------------------------------------------------------- */
#define TINY_EXT_METRICS "tiny.metrics/1"

typedef enum tiny_metric_kind {
  TINY_METRIC_COUNTER = 0,  /* name ends in _total; `add` */
  TINY_METRIC_HISTOGRAM = 1 /* name ends in _seconds; `observe` */
} tiny_metric_kind;

/* Opaque: one metric of one node. */
typedef struct tiny_metric tiny_metric;

typedef struct tiny_host_metrics_api {
  uint32_t struct_size;
  /*
   * Declares metric `name` of `node`, served as tinyhost_<name>. `name` is
   * [a-z0-9_]{1,64}, starts with the component's name and '_', and ends as
   * its kind says (e.g. "http_server_requests_total"). Every node declaring
   * a name shares one family, so the kind and `help` must agree. Returns
   * NULL when the name is invalid, declared with another kind or help, or
   * the node has 16 metrics already; declaring the same name twice on one
   * node returns the same handle. `name` and `help` are borrowed. The
   * handle is valid until the node's `destroy` returns. [thread: any]
   */
  tiny_metric* (*define)(tiny_node* node, const char* name, int32_t kind, const char* help);
  /*
   * Counter: adds `n` to the series with label code="<code>" (0..999, e.g.
   * an HTTP status), or to the one without a code label when `code` is -1.
   * Another code counts as code="other", as do codes past the 32nd distinct
   * one of the metric. Lock-free. [thread: any]
   */
  void (*add)(tiny_metric* metric, int32_t code, uint64_t n);
  /* Histogram: records one sample of `seconds` (>= 0). Lock-free. [thread: any] */
  void (*observe)(tiny_metric* metric, double seconds);
} tiny_host_metrics_api;

/* ----------------------------------------------------------------------
 * [implemented by: host] Extension "tiny.trace/1": W3C Trace Context
 * (traceparent, tracestate) of the calls a component handles, and root
 * emits that carry one. Returned by `tiny_host_api.get_extension`; NULL on
 * a host without it, where a plugin runs untraced.
 *
 * The host propagates trace context by itself along every hop that has a
 * cause (an emit with `cause`, a forward): a plugin needs this table only
 * to cross into another protocol (an HTTP request out, a request in).
 * Each delivery of a traced message is a span with its own id.
 * -------------------------------------------------------------------- */
#define TINY_EXT_TRACE "tiny.trace/1"

/* A traceparent is 55 characters ("00-" trace-id "-" span-id "-" flags). */
#define TINY_TRACEPARENT_SIZE 55
/* The largest tracestate the host keeps. */
#define TINY_TRACESTATE_MAX 512

typedef struct tiny_host_trace_api {
  uint32_t struct_size;
  /*
   * The traceparent of `call` (an open call the plugin holds): this
   * delivery's span as the parent of whatever the plugin sends on its
   * behalf. Copies it NUL-terminated into `buf` iff `cap` > its length and
   * returns its length (TINY_TRACEPARENT_SIZE); returns 0 when the call
   * is not traced. `buf` may be NULL when `cap` is 0. [thread: any]
   */
  size_t (*traceparent)(const tiny_call* call, char* buf, size_t cap);
  /*
   * The tracestate of `call`, as `traceparent` copies (at most
   * TINY_TRACESTATE_MAX bytes); 0 when it has none. [thread: any]
   */
  size_t (*tracestate)(const tiny_call* call, char* buf, size_t cap);
  /*
   * A traceparent for one outbound request made on behalf of `call` (the
   * `traceparent` header of an HTTP request): the same trace and flags, a
   * new span id, whose parent is the call's span. Copies like
   * `traceparent`; 0 when the call is not traced. [thread: any]
   */
  size_t (*child_traceparent)(const tiny_call* call, char* buf, size_t cap);
  /*
   * A root emit (as `tiny_host_api.emit` with `cause` NULL) that carries
   * trace context: when `traceparent` (borrowed; empty = none) is valid
   * W3C, the message continues that trace, its first delivery a child of
   * the header's span, with `tracestate` (borrowed, may be empty) if that
   * is well-formed; otherwise the host starts a new trace (random ids,
   * sampled) and drops `tracestate`. Everything else is as `emit`.
   * [thread: any]
   */
  void (*emit_root)(tiny_node* node, const char* port, tiny_bytes data,
                    tiny_bytes traceparent, tiny_bytes tracestate,
                    tiny_emit_done_fn done, void* user);
} tiny_host_trace_api;

/*
 * What a plugin defines, in exactly one of its source files, C or C++:
 *
 *   TINY_PLUGIN_EXPORT const tiny_entry tiny_plugin_entry = {{1, 0}, sizeof(tiny_entry), ...};
 *
 * Declared here (inside extern "C"), so that the definition has C linkage
 * and, in C++, external linkage despite `const`. The C++ SDK's TINY_MODULE
 * writes it for you.
 */
TINY_PLUGIN_EXPORT extern const tiny_entry tiny_plugin_entry;

#ifdef __cplusplus
}
#endif

#endif /* TINY_PLUGIN_H */
