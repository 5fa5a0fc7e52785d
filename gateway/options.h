// Command-line options of the infergate binary.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/net/server.h"

namespace infergate::gateway {

struct CommandLine {
  ServerOptions server;
  bool check_only = false;
  bool show_help = false;
  bool show_version = false;
  std::string log_level = "info";
  std::string error;  // non-empty: bad arguments, print it and exit 2
};

CommandLine parse_command_line(int argc, char** argv);
std::string usage();

}  // namespace infergate::gateway
