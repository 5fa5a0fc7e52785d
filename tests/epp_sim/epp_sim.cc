// epp_sim: a test Endpoint Picker. Serves envoy.service.ext_proc.v3.ExternalProcessor/Process
// and behaves like the Gateway API Inference Extension EPP in FULL_DUPLEX_STREAMED mode: it
// reads the request headers and the whole request body (and trailers), then answers a
// HeadersResponse whose header mutation sets x-gateway-destination-endpoint (primary then
// fallbacks, with the same value in dynamic metadata envoy.lb), then BodyResponses echoing the
// body as streamed_response chunks, then a TrailersResponse when trailers came. It also
// serves the gRPC health service (grpc.health.v1) for "", the ext_proc service, "readiness"
// and "liveness".
//
//   epp_sim [--address IP] [--port N] [--endpoints ip:port,...] [--fallbacks K]
//           [--mode MODE] [--delay-ms MS] [--tls-cert FILE --tls-key FILE]
//           [--health serving|not-serving|none]
//
// The first stdout line is "listening IP:PORT". Per request it prints "picked <value>", and
// "subset a,b" / "trailers k=v,..." when the gateway sent those; per response
// "served <ip:port>" (from metadata envoy.lb x-gateway-destination-endpoint-served, or
// "served-header <ip:port>" from the header of that name).
//
// Like the conformance suite's lwepp:
//  * request header test-epp-endpoint-selection: ip[,ip:port...] restricts the pick to those
//    of --endpoints (a bare IP matches any port); none matches: ImmediateResponse 503;
//  * the request mutation also sets X-Echo-Set-Header: x-conformance-test-served-endpoint:<pick>;
//  * the response headers are answered with x-conformance-test-served-endpoint: <served>.
//
// Per request, header x-epp-sim-mode overrides --mode, x-epp-sim-pick: N picks endpoint
// index N (else round-robin), x-epp-sim-body: TEXT replaces the body (a body mutation).
// Modes: early = answer the headers response before reading the body; metadata = endpoint in
// dynamic metadata only; slow = wait --delay-ms before answering; garbage = malformed
// endpoint value; noendpoint = headers response without an endpoint; shed = immediate 429;
// none-ready = immediate 503; close = end the stream with UNAVAILABLE; outside = an endpoint
// outside the pool (192.0.2.1:8000); conflict = header and metadata name different endpoints
// (the header's is the pick); big-body = a 9 MiB body mutation; skip-response =
// mode_override response_header_mode SKIP (no response headers are sent then); flood = after the
// headers response, the same answer again and again until the gateway ends the call.
// SIGUSR1 sets the health to NOT_SERVING, SIGUSR2 to SERVING ("health ..." is printed).
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
  std::string address = "127.0.0.1";
  int port = 0;
  std::string tls_cert, tls_key;  // PEM files: serve TLS
  std::string health = "serving";  // serving | not-serving | none (no health service)
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

constexpr const char* kServedHeader = "x-gateway-destination-endpoint-served";
constexpr const char* kConformanceHeader = "x-conformance-test-served-endpoint";

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

void set_metadata_endpoint(pb::ProcessingResponse& resp, const std::string& value) {
  auto& lb = (*resp.mutable_dynamic_metadata()->mutable_fields())["envoy.lb"];
  (*lb.mutable_struct_value()->mutable_fields())["x-gateway-destination-endpoint"].set_string_value(value);
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
    if (mode == "close") {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "epp_sim: close mode");
    }
    const std::vector<std::string> candidates = candidates_for(headers, req);
    const std::string endpoint = candidates.empty() ? std::string() : choose(headers, candidates);
    if (!endpoint.empty()) out_line("picked " + endpoint);

    bool eos = req.request_headers().end_of_stream();
    bool headers_sent = false;
    if (mode == "early" && !endpoint.empty()) {
      if (!stream->Write(headers_response(endpoint, mode))) return grpc::Status::OK;
      headers_sent = true;
    }
    std::string body;
    bool had_body = !eos, had_trailers = false;
    while (!eos) {
      if (!stream->Read(&req)) return grpc::Status::OK;
      if (req.has_request_body()) {
        body += req.request_body().body();
        eos = req.request_body().end_of_stream();
      } else if (req.has_request_trailers()) {
        std::vector<std::string> kv;
        for (const auto& h : req.request_trailers().trailers().headers()) kv.push_back(h.key() + "=" + value_of(h));
        out_line("trailers " + join(kv));
        had_trailers = eos = true;
      }
    }
    if (mode == "slow") {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(o_.delay_ms);
      while (std::chrono::steady_clock::now() < until && !ctx->IsCancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    }
    if (mode == "shed" || mode == "none-ready" || endpoint.empty()) {
      const bool shed = mode == "shed";
      pb::ProcessingResponse resp;
      auto* ir = resp.mutable_immediate_response();
      ir->mutable_status()->set_code(static_cast<::envoy::type::v3::StatusCode>(shed ? 429 : 503));
      ir->set_body(shed ? "epp_sim: request shed" : "epp_sim: no endpoint ready");
      ir->set_details(shed ? "shed" : "none_ready");
      set_header(ir->mutable_headers(), "x-epp-sim", shed ? "shed" : "none-ready");
      stream->Write(resp);
      return grpc::Status::OK;
    }
    if (!headers_sent && !stream->Write(headers_response(endpoint, mode))) {
      return grpc::Status::OK;
    }
    if (mode == "flood") {
      // Answers nobody asked for, as fast as the stream takes them, until the gateway ends
      // the call (or a million were sent).
      for (int i = 0; i < 1000000 && !ctx->IsCancelled(); ++i)
        if (!stream->Write(headers_response(endpoint, "normal"))) break;
      return grpc::Status::OK;
    }
    if (had_body) {
      if (auto it = headers.find("x-epp-sim-body"); it != headers.end()) body = it->second;
      if (mode == "big-body") body.assign(9u << 20, 'x');
      // Echoed in chunks of at most 1 MiB, as the GIE EPP streams it back.
      const std::size_t chunk = 1u << 20;
      std::size_t off = 0;
      do {
        pb::ProcessingResponse resp;
        auto* sr = resp.mutable_request_body()->mutable_response()->mutable_body_mutation()
                       ->mutable_streamed_response();
        sr->set_body(body.substr(off, chunk));
        off += chunk;
        sr->set_end_of_stream(off >= body.size() && !had_trailers);
        if (!stream->Write(resp)) return grpc::Status::OK;
      } while (off < body.size());
    }
    if (had_trailers) {
      pb::ProcessingResponse resp;
      set_header(resp.mutable_request_trailers()->mutable_header_mutation(), "x-epp-sim-trailer", "seen");
      if (!stream->Write(resp)) return grpc::Status::OK;
    }
    // Response phase: report the served endpoint, echo bodies, answer trailers.
    while (stream->Read(&req)) {
      pb::ProcessingResponse resp;
      if (req.has_response_headers()) {
        std::string served = "fail: missing envoy lb metadata";
        const auto& fm = req.metadata_context().filter_metadata();
        if (auto ns = fm.find("envoy.lb"); ns != fm.end()) {
          auto f = ns->second.fields().find(kServedHeader);
          served = f == ns->second.fields().end() || !f->second.has_string_value()
                       ? "fail: missing destination endpoint served metadata"
                       : f->second.string_value();
          if (f != ns->second.fields().end()) out_line("served " + served);
        }
        for (const auto& h : req.response_headers().headers().headers()) {
          if (h.key() == kServedHeader) out_line("served-header " + value_of(h));
        }
        auto* hm = resp.mutable_response_headers()->mutable_response()->mutable_header_mutation();
        set_header(hm, kConformanceHeader, served);
        set_header(hm, "x-epp-sim-response", "seen");
      } else if (req.has_response_body()) {
        auto* sr = resp.mutable_response_body()->mutable_response()->mutable_body_mutation()
                       ->mutable_streamed_response();
        sr->set_body(req.response_body().body());
        sr->set_end_of_stream(req.response_body().end_of_stream());
      } else if (req.has_response_trailers()) {
        std::vector<std::string> kv;
        for (const auto& h : req.response_trailers().trailers().headers()) kv.push_back(h.key() + "=" + value_of(h));
        out_line("response-trailers " + join(kv));
        resp.mutable_response_trailers();
      } else {
        continue;
      }
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

 private:
  // The endpoints this request may go to: --endpoints, narrowed by the subset hint
  // (metadata envoy.lb.subset_hint) and then by test-epp-endpoint-selection, as lwepp does.
  std::vector<std::string> candidates_for(const std::map<std::string, std::string>& headers,
                                          const pb::ProcessingRequest& req) {
    std::vector<std::string> candidates = o_.endpoints;
    const auto& fm = req.metadata_context().filter_metadata();
    if (auto ns = fm.find("envoy.lb.subset_hint"); ns != fm.end()) {
      auto f = ns->second.fields().find("x-gateway-destination-endpoint-subset");
      if (f != ns->second.fields().end() && f->second.has_list_value()) {
        std::vector<std::string> subset;
        for (const auto& v : f->second.list_value().values()) subset.push_back(v.string_value());
        out_line("subset " + join(subset));
        candidates = filter(candidates, subset);
      }
    }
    if (auto it = headers.find("test-epp-endpoint-selection"); it != headers.end() && !it->second.empty()) {
      candidates = filter(candidates, split(it->second));
    }
    return candidates;
  }

  // Those of `from` that `allowed` names: an entry "ip" allows every port of ip.
  static std::vector<std::string> filter(const std::vector<std::string>& from, const std::vector<std::string>& allowed) {
    std::vector<std::string> out;
    for (const auto& e : from) {
      const std::string ip = e.substr(0, e.rfind(':'));
      for (const auto& a : allowed) {
        if (a == e || a == ip) {
          out.push_back(e);
          break;
        }
      }
    }
    return out;
  }

  std::string choose(const std::map<std::string, std::string>& headers, const std::vector<std::string>& candidates) {
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

  static pb::ProcessingResponse headers_response(const std::string& endpoint, const std::string& mode) {
    pb::ProcessingResponse resp;
    auto* common = resp.mutable_request_headers()->mutable_response();
    std::string value = endpoint;
    if (mode == "garbage") value = "not-an-endpoint:99999";
    if (mode == "outside") value = "192.0.2.1:8000";
    const std::string primary = value.substr(0, value.find(','));
    if (mode != "noendpoint" && mode != "metadata") {
      set_header(common->mutable_header_mutation(), "x-gateway-destination-endpoint", value);
    }
    if (mode == "conflict") set_metadata_endpoint(resp, "192.0.2.2:8000");
    else if (mode != "noendpoint") set_metadata_endpoint(resp, value);
    set_header(common->mutable_header_mutation(), "x-epp-sim-mode", mode);
    set_header(common->mutable_header_mutation(), "X-Echo-Set-Header",
               std::string(kConformanceHeader) + ":" + primary);
    if (mode == "skip-response") {
      resp.mutable_mode_override()->set_response_header_mode(
          ::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode::SKIP);
    }
    common->set_clear_route_cache(true);
    return resp;
  }

  Options o_;
  std::atomic<std::size_t> rr_{0};
};

[[noreturn]] void usage(const char* msg) {
  std::cerr << "epp_sim: " << msg
            << "\nusage: epp_sim [--address IP] [--port N] [--endpoints ip:port,...] [--fallbacks K]"
               " [--mode normal|early|metadata|slow|garbage|noendpoint|shed|none-ready|close|outside|"
               "conflict|big-body|skip-response] [--delay-ms MS] [--tls-cert FILE --tls-key FILE]"
               " [--health serving|not-serving|none]\n";
  std::exit(2);
}

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) usage(("cannot read " + path).c_str());
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

void set_health(grpc::Server& server, bool serving, bool report = true) {
  auto* health = server.GetHealthCheckService();
  if (!health) return;
  health->SetServingStatus(serving);  // every service, "" included
  for (const char* service : {"envoy.service.ext_proc.v3.ExternalProcessor", "readiness", "liveness"}) {
    health->SetServingStatus(service, serving || std::string(service) == "liveness");
  }
  if (report) out_line(serving ? "health SERVING" : "health NOT_SERVING");
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
    if (a == "--address") o.address = next();
    else if (a == "--port") o.port = std::atoi(next().c_str());
    else if (a == "--endpoints") o.endpoints = split(next());
    else if (a == "--fallbacks") o.fallbacks = std::atoi(next().c_str());
    else if (a == "--mode") o.mode = next();
    else if (a == "--delay-ms") o.delay_ms = std::atoi(next().c_str());
    else if (a == "--tls-cert") o.tls_cert = next();
    else if (a == "--tls-key") o.tls_key = next();
    else if (a == "--health") o.health = next();
    else if (a == "--help" || a == "-h") usage("help");
    else usage(("unknown argument " + a).c_str());
  }
  if (o.endpoints.empty()) usage("--endpoints is empty");
  if (o.tls_cert.empty() != o.tls_key.empty()) usage("--tls-cert and --tls-key go together");
  if (o.health != "serving" && o.health != "not-serving" && o.health != "none") usage("bad --health");

  // Signals are handled on one thread; blocked here so every gRPC thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!o.tls_cert.empty()) {
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back({read_file(o.tls_key), read_file(o.tls_cert)});
    creds = grpc::SslServerCredentials(tls);
  }
  grpc::EnableDefaultHealthCheckService(o.health != "none");

  Sim sim(o);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(o.address + ":" + std::to_string(o.port), creds, &port);
  builder.RegisterService(&sim);
  builder.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "epp_sim: cannot listen on " << o.address << ":" << o.port << "\n";
    return 1;
  }
  // Set before the first line, so nobody sees the port before the health it starts with.
  if (o.health != "none") set_health(*server, o.health == "serving", false);
  out_line("listening " + o.address + ":" + std::to_string(port));

  // Exit with the parent (a test runner that crashed must not leave us running).
  pid_t parent = getppid();
  std::thread([parent] {
    while (getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::_Exit(0);
  }).detach();

  std::thread signals([&] {
    while (true) {
      int sig = 0;
      sigwait(&set, &sig);
      if (sig == SIGUSR1 || sig == SIGUSR2) {
        set_health(*server, sig == SIGUSR2);
        continue;
      }
      server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      return;
    }
  });
  server->Wait();
  signals.join();
  return 0;
}
