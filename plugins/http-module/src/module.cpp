// The http-module entry: the only exported symbol of the plugin.
#include "components.h"

TINY_MODULE("http-module", "0.1.0",
            http_module::http_server_spec(),
            http_module::http_request_spec(),
            http_module::http_auth_parse_spec())
