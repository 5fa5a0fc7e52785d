// modelsim: an OpenAI-compatible model-server simulator for demos, end-to-end tests and
// routing benchmarks. See README.md for flags and test hooks.
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "bench/modelsim/options.hpp"
#include "bench/modelsim/server.hpp"

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto parsed = modelsim::parse_options(args);
  if (auto* error = std::get_if<modelsim::ArgError>(&parsed)) {
    std::fprintf(stderr, "modelsim: %s\n", error->message.c_str());
    return 2;
  }
  if (std::holds_alternative<modelsim::HelpRequested>(parsed)) {
    std::fputs(modelsim::usage_text("modelsim").c_str(), stdout);
    return 0;
  }
  const auto& options = std::get<modelsim::Options>(parsed);
  try {
    modelsim::Server server(options);
    // Tests start modelsim with --port 0 and read the chosen port from this line.
    std::printf("modelsim listening on %s:%u model=%s instance=%s\n", options.address.c_str(),
                static_cast<unsigned>(server.port()), options.model.c_str(),
                server.context().instance.c_str());
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelsim: cannot serve on %s:%u: %s\n", options.address.c_str(),
                 static_cast<unsigned>(options.port), e.what());
    return 1;
  }
  return 0;
}
