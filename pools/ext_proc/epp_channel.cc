// EppChannel (epp_client.h): the gRPC channel to one EPP, its credentials (plaintext, TLS,
// TLS without verification), the reaper that destroys channels off gRPC's threads, and the
// health loop behind ready().
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "pools/ext_proc/epp_channel_impl.h"

namespace infergate::ext_proc {

namespace pb = ::envoy::service::ext_proc::v3;

namespace {

std::shared_ptr<grpc::ChannelCredentials> credentials(const EppTlsOptions& tls, grpc::ChannelArguments& args) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  if (!tls.insecure_skip_verify) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = tls.ca_pem;
    ssl.pem_cert_chain = tls.cert_pem;
    ssl.pem_private_key = tls.key_pem;
    return grpc::SslCredentials(ssl);
  }
  // Encrypted, not authenticated: no verifier, no host check.
  grpc::experimental::TlsChannelCredentialsOptions opts;
  opts.set_verify_server_certs(false);
  opts.set_check_call_host(false);
  opts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  if (!tls.cert_pem.empty()) {
    opts.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
        std::vector<grpc::experimental::IdentityKeyCertPair>{{tls.key_pem, tls.cert_pem}}));
    opts.watch_identity_key_cert_pairs();
  }
  return grpc::experimental::TlsCredentials(opts);
}

// grpc 1.51 runs callback-API reactions on the threads of a shared, ref-counted completion
// queue (CallbackAlternativeCQ) that each grpc::Channel references. Dropping the last Channel
// on one of those threads makes that thread join itself and crash later (grpc PR #32584).
// The last EppChannel reference is often dropped by a Stream ending in OnDone, so channels
// are destroyed on this reaper thread instead. Function-local static: constructed after
// gRPC's own statics, so it is torn down (and drains) before them at exit.
class ChannelReaper {
 public:
  static ChannelReaper& get() {
    static ChannelReaper reaper;
    return reaper;
  }
  void add(std::unique_ptr<EppChannel::Impl> impl) {
    std::unique_lock lk(mu_);
    if (stopped_) {
      lk.unlock();
      impl.reset();
      return;
    }
    queue_.push_back(std::move(impl));
    cv_.notify_one();
  }
  ~ChannelReaper() {
    {
      std::lock_guard lk(mu_);
      stopped_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  ChannelReaper() : thread_([this] { run(); }) {}
  void run() {
    std::unique_lock lk(mu_);
    while (true) {
      cv_.wait(lk, [&] { return stopped_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto impl = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      impl.reset();
      lk.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<EppChannel::Impl>> queue_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace

std::shared_ptr<EppChannel> EppChannel::create(EppChannelOptions options) {
  return std::shared_ptr<EppChannel>(new EppChannel(std::move(options)));
}

EppChannel::EppChannel(EppChannelOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
              static_cast<int>(options_.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(options_.reconnect_backoff_min.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(options_.reconnect_backoff_max.count()));
  args.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  impl_->channel = grpc::CreateCustomChannel(options_.target, credentials(options_.tls, args), args);
  impl_->stub = pb::ExternalProcessor::NewStub(impl_->channel);
  impl_->health = ::grpc::health::v1::Health::NewStub(impl_->channel);
  ChannelReaper::get();  // construct it now, after gRPC's statics
  if (options_.health_interval.count() > 0) impl_->health_thread = std::thread([this] { health_loop(); });
}

EppChannel::~EppChannel() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  ChannelReaper::get().add(std::move(impl_));
}

// One Check per interval on a thread of its own: the EPPs are few, and a blocking call with
// a deadline is the simplest correct loop.
void EppChannel::health_loop() {
  namespace hv = ::grpc::health::v1;
  Impl* impl = impl_.get();
  const std::string service = options_.health_service;
  const auto interval = options_.health_interval, timeout = options_.health_timeout;
  const int threshold = std::max(1, options_.health_unhealthy_threshold);
  int failures = 0;
  std::unique_lock lk(impl->mu);
  while (!impl->stopping) {
    lk.unlock();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    hv::HealthCheckRequest req;
    req.set_service(service);
    hv::HealthCheckResponse resp;
    const grpc::Status status = impl->health->Check(&ctx, req, &resp);
    lk.lock();
    if (impl->stopping) return;  // `this` may be gone
    stats_.health_checks.fetch_add(1, std::memory_order_relaxed);
    const bool serving = status.ok() ? resp.status() == hv::HealthCheckResponse::SERVING
                                     : status.error_code() == grpc::StatusCode::UNIMPLEMENTED;
    if (serving) {
      failures = 0;
      ready_.store(true, std::memory_order_relaxed);
    } else {
      stats_.health_failures.fetch_add(1, std::memory_order_relaxed);
      // NOT_SERVING is an answer: believed at once. Silence needs the threshold.
      const bool answered = status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND;
      if (answered || ++failures >= threshold) ready_.store(false, std::memory_order_relaxed);
    }
    impl->cv.wait_for(lk, interval, [&] { return impl->stopping; });
  }
}

}  // namespace infergate::ext_proc
