// The common-module entry: the only exported symbol of the plugin.
#include "components.h"

TINY_MODULE("common-module", "0.1.0",
            common_module::transform_spec(),
            common_module::debug_spec(),
            common_module::ticker_spec(),
            common_module::router_spec(),
            common_module::delay_spec(),
            common_module::signal_spec(),
            common_module::inject_spec(),
            common_module::array_split_spec(),
            common_module::collect_spec(),
            common_module::array_get_spec(),
            common_module::group_by_spec(),
            common_module::kv_spec(),
            common_module::async_spec(),
            common_module::cron_spec(),
            common_module::retry_spec())
