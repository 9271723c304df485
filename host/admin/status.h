// /status: what runs on this host, as JSON (schema in docs/operations.md).
#pragma once

#include <nlohmann/json.hpp>

#include "host/admin/admin_sources.h"

namespace tiny::host {

nlohmann::json StatusJson(const AdminSources& sources);

// A stable 64-bit FNV-1a hash of `text`, as 16 hex digits (settings_hash).
std::string TextHash(std::string_view text);

}  // namespace tiny::host
