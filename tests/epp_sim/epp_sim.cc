// epp_sim: a test Endpoint Picker. Serves envoy.service.ext_proc.v3.ExternalProcessor/Process
// and behaves like the Gateway API Inference Extension EPP in FULL_DUPLEX_STREAMED mode: it
// reads the request headers and the whole request body, then answers a HeadersResponse whose
// header mutation sets x-gateway-destination-endpoint (primary then fallbacks, with the same
// value in dynamic metadata envoy.lb), then BodyResponses echoing the body as
// streamed_response chunks. Response headers it receives are answered with an empty
// HeadersResponse; each x-gateway-destination-endpoint-served value is printed as
// "served ip:port" on stdout.
//
//   epp_sim [--port N] [--endpoints ip:port,...] [--fallbacks K]
//           [--mode normal|early|metadata|slow|garbage|noendpoint|shed|none-ready|close]
//           [--delay-ms MS]
//
// The first stdout line is "listening 127.0.0.1:PORT". Per request, header x-epp-sim-mode
// overrides --mode and x-epp-sim-pick: N picks endpoint index N (else round-robin).
// Modes: early = answer the headers response before reading the body; metadata = endpoint in
// dynamic metadata only; slow = wait --delay-ms before answering; garbage = malformed
// endpoint value; noendpoint = headers response without an endpoint; shed = immediate 429;
// none-ready = immediate 503; close = end the stream with UNAVAILABLE.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pools/ext_proc/ext_proc.grpc.pb.h"

namespace {

namespace pb = ::envoy::service::ext_proc::v3;
namespace core = ::envoy::config::core::v3;

struct Options {
  int port = 0;
  std::vector<std::string> endpoints{"127.0.0.1:8000"};
  int fallbacks = 0;
  std::string mode = "normal";
  int delay_ms = 2000;
};

std::mutex g_out_mu;
void out_line(const std::string& line) {
  std::lock_guard lk(g_out_mu);
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string value_of(const core::HeaderValue& h) {
  return h.raw_value().empty() ? h.value() : h.raw_value();
}

void set_header(pb::HeaderMutation* m, const std::string& key, const std::string& value) {
  auto* opt = m->add_set_headers();
  opt->mutable_header()->set_key(key);
  opt->mutable_header()->set_raw_value(value);
  opt->set_append_action(core::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

class Sim final : public pb::ExternalProcessor::Service {
 public:
  explicit Sim(Options o) : o_(std::move(o)) {}

  grpc::Status Process(grpc::ServerContext* ctx,
                       grpc::ServerReaderWriter<pb::ProcessingResponse, pb::ProcessingRequest>* stream)
      override {
    pb::ProcessingRequest req;
    if (!stream->Read(&req)) return grpc::Status::OK;
    if (!req.has_request_headers()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "epp_sim: first message must be request_headers");
    }
    std::map<std::string, std::string> headers;
    for (const auto& h : req.request_headers().headers().headers()) headers[h.key()] = value_of(h);
    std::string mode = o_.mode;
    if (auto it = headers.find("x-epp-sim-mode"); it != headers.end()) mode = it->second;
    std::string endpoint = choose(headers, req);
    if (mode == "close") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "epp_sim: close mode");
    }

    bool eos = req.request_headers().end_of_stream();
    bool headers_sent = false;
    if (mode == "early") {
      if (!stream->Write(headers_response(endpoint, mode))) return grpc::Status::OK;
      headers_sent = true;
    }
    std::vector<std::string> chunks;
    while (!eos) {
      if (!stream->Read(&req)) return grpc::Status::OK;
      if (req.has_request_body()) {
        chunks.push_back(req.request_body().body());
        eos = req.request_body().end_of_stream();
      } else if (req.has_request_trailers()) {
        eos = true;
      }
    }
    if (mode == "slow") {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(o_.delay_ms);
      while (std::chrono::steady_clock::now() < until && !ctx->IsCancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    }
    if (mode == "shed" || mode == "none-ready") {
      pb::ProcessingResponse resp;
      auto* ir = resp.mutable_immediate_response();
      int code = mode == "shed" ? 429 : 503;
      ir->mutable_status()->set_code(static_cast<::envoy::type::v3::StatusCode>(code));
      ir->set_body(mode == "shed" ? "epp_sim: request shed" : "epp_sim: no endpoint ready");
      ir->set_details(mode == "shed" ? "shed" : "none_ready");
      set_header(ir->mutable_headers(), "x-epp-sim", mode);
      stream->Write(resp);
      return grpc::Status::OK;
    }
    if (!headers_sent && !stream->Write(headers_response(endpoint, mode))) {
      return grpc::Status::OK;
    }
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      pb::ProcessingResponse resp;
      auto* sr = resp.mutable_request_body()->mutable_response()->mutable_body_mutation()
                     ->mutable_streamed_response();
      sr->set_body(chunks[i]);
      sr->set_end_of_stream(i + 1 == chunks.size());
      if (!stream->Write(resp)) return grpc::Status::OK;
    }
    // Response phase: record the served endpoint, answer everything with "continue".
    while (stream->Read(&req)) {
      pb::ProcessingResponse resp;
      if (req.has_response_headers()) {
        for (const auto& h : req.response_headers().headers().headers()) {
          if (h.key() == "x-gateway-destination-endpoint-served") out_line("served " + value_of(h));
        }
        resp.mutable_response_headers();
      } else if (req.has_response_body()) {
        auto* sr = resp.mutable_response_body()->mutable_response()->mutable_body_mutation()
                       ->mutable_streamed_response();
        sr->set_body(req.response_body().body());
        sr->set_end_of_stream(req.response_body().end_of_stream());
      } else if (req.has_response_trailers()) {
        resp.mutable_response_trailers();
      } else {
        continue;
      }
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

 private:
  std::string choose(const std::map<std::string, std::string>& headers,
                     const pb::ProcessingRequest& req) {
    std::vector<std::string> candidates = o_.endpoints;
    // Honour a subset hint (metadata envoy.lb.subset_hint) like the GIE EPP.
    const auto& fm = req.metadata_context().filter_metadata();
    if (auto ns = fm.find("envoy.lb.subset_hint"); ns != fm.end()) {
      auto f = ns->second.fields().find("x-gateway-destination-endpoint-subset");
      if (f != ns->second.fields().end() && f->second.has_list_value()) {
        std::vector<std::string> subset;
        for (const auto& v : f->second.list_value().values()) subset.push_back(v.string_value());
        if (!subset.empty()) candidates = subset;
      }
    }
    std::size_t n = candidates.size();
    std::size_t first = rr_.fetch_add(1) % n;
    if (auto it = headers.find("x-epp-sim-pick"); it != headers.end()) {
      first = static_cast<std::size_t>(std::strtoul(it->second.c_str(), nullptr, 10)) % n;
    }
    std::string value = candidates[first];
    std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(std::max(o_.fallbacks, 0)), n - 1);
    for (std::size_t i = 1; i <= k; ++i) value += "," + candidates[(first + i) % n];
    return value;
  }

  static pb::ProcessingResponse headers_response(const std::string& endpoint,
                                                 const std::string& mode) {
    pb::ProcessingResponse resp;
    auto* common = resp.mutable_request_headers()->mutable_response();
    std::string value = mode == "garbage" ? "not-an-endpoint:99999" : endpoint;
    if (mode != "noendpoint" && mode != "metadata") {
      set_header(common->mutable_header_mutation(), "x-gateway-destination-endpoint", value);
    }
    if (mode != "noendpoint") {
      auto& lb = (*resp.mutable_dynamic_metadata()->mutable_fields())["envoy.lb"];
      (*lb.mutable_struct_value()->mutable_fields())["x-gateway-destination-endpoint"]
          .set_string_value(value);
    }
    set_header(common->mutable_header_mutation(), "x-epp-sim-mode", mode);
    common->set_clear_route_cache(true);
    return resp;
  }

  Options o_;
  std::atomic<std::size_t> rr_{0};
};

[[noreturn]] void usage(const char* msg) {
  std::cerr << "epp_sim: " << msg
            << "\nusage: epp_sim [--port N] [--endpoints ip:port,...] [--fallbacks K]"
               " [--mode normal|early|metadata|slow|garbage|noendpoint|shed|none-ready|close]"
               " [--delay-ms MS]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--port") o.port = std::atoi(next().c_str());
    else if (a == "--endpoints") o.endpoints = split(next());
    else if (a == "--fallbacks") o.fallbacks = std::atoi(next().c_str());
    else if (a == "--mode") o.mode = next();
    else if (a == "--delay-ms") o.delay_ms = std::atoi(next().c_str());
    else if (a == "--help" || a == "-h") usage("help");
    else usage(("unknown argument " + a).c_str());
  }
  if (o.endpoints.empty()) usage("--endpoints is empty");

  // SIGTERM/SIGINT end the server; blocked here so every gRPC thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  Sim sim(o);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(o.port),
                           grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&sim);
  builder.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "epp_sim: cannot listen on port " << o.port << "\n";
    return 1;
  }
  out_line("listening 127.0.0.1:" + std::to_string(port));

  // Exit with the parent (a test runner that crashed must not leave us running).
  pid_t parent = getppid();
  std::thread([parent] {
    while (getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::_Exit(0);
  }).detach();

  std::thread stopper([&] {
    int sig = 0;
    sigwait(&set, &sig);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  });
  server->Wait();
  stopper.join();
  return 0;
}
