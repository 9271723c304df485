// The http-module components, one factory per component file.
#pragma once

#include <tiny/plugin.hpp>

namespace http_module {

tiny::ComponentSpec http_server_spec();
tiny::ComponentSpec http_request_spec();
tiny::ComponentSpec http_auth_parse_spec();

}  // namespace http_module
