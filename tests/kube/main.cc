// kube_test_apiserver: the test API server as a process, for trying kubectl by hand and for
// benchmarks. Serves until SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/kube/api_server.h"

int main(int argc, char** argv) {
  infergate::testing::ApiServerOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--port" && has_value) {
      o.port = static_cast<uint16_t>(std::atoi(argv[++i]));
    } else if (a == "--cert" && has_value) {
      o.cert_pem_path = argv[++i];
    } else if (a == "--key" && has_value) {
      o.key_pem_path = argv[++i];
    } else if (a == "--token" && has_value) {
      o.tokens.push_back(argv[++i]);
    } else if (a == "--address" && has_value) {
      o.address = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--address A] [--port P] [--cert server.pem --key server-key.pem] [--token T]...\n"
                   "Without --cert it serves plain HTTP; without --token it accepts every request.\n",
                   argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);  // print the request counts (benchmarks: "no polling")
  // Blocked before the server's thread starts, so only sigwait below sees them.
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  try {
    infergate::testing::TestApiServer server(o);
    std::printf("listening on %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
      std::string line;
      for (const auto& [verb, n] : server.request_counts())
        line += (line.empty() ? "" : " ") + verb + "=" + std::to_string(n);
      std::printf("requests %s\n", line.c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kube_test_apiserver: %s\n", e.what());
    return 1;
  }
  return 0;
}
