// The canary console's static files (gateway/admin/console/), baked into the binary at build
// time by gateway/admin/console/embed.cmake: served from memory, nothing read at run time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace infergate::gateway {

struct ConsoleAsset {
  std::string_view path;          // "/console/index.html", ...
  std::string_view content_type;
  std::string_view body;
};

const std::vector<ConsoleAsset>& console_assets();

// GET /console and its static files: the gate lets them through without a token even when
// reads need one (spec.admin.auth.requireForReadOnly), since they hold nothing but the page's
// code, and a browser cannot send a bearer token when it opens a page.
bool is_console_asset(std::string_view path);

}  // namespace infergate::gateway
