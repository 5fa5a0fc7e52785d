#include <fcntl.h>
#include <future>
#include <stdexcept>

#include "tests/kube/kinds.h"
#include "tests/kube/server_impl.h"

namespace infergate::testing {

namespace net = boost::asio;
using net::ip::tcp;
using nlohmann::json;

TestApiServer::Impl::Impl(ApiServerOptions o)
    : opts(std::move(o)), store(opts.history), tokens(opts.tokens) {
  if (!opts.cert_pem_path.empty() || !opts.key_pem_path.empty()) {
    tls.emplace(net::ssl::context::tls_server);
    tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 | net::ssl::context::no_sslv3);
    tls->use_certificate_chain_file(opts.cert_pem_path);
    tls->use_private_key_file(opts.key_pem_path, net::ssl::context::pem);
  }
  scheme = tls ? "https" : "http";
  port = opts.port;
  // The sink runs under the store's lock, so posts keep resourceVersion order.
  store.set_sink([this](const kube::EventPtr& e) {
    net::post(ioc, [this, e] {
      auto copy = watchers;
      for (auto& [raw, weak] : copy) {
        if (auto c = weak.lock()) c->deliver(e);
      }
    });
  });
  work.emplace(ioc.get_executor());
  thread = std::thread([this] { ioc.run(); });
  std::exception_ptr failed;
  run_sync([&] {
    try {
      open_listener();
    } catch (...) {
      failed = std::current_exception();
    }
  });
  if (failed) {
    work.reset();
    ioc.stop();
    thread.join();
    std::rethrow_exception(failed);
  }
}

TestApiServer::Impl::~Impl() {
  store.set_sink(nullptr);
  run_sync([this] {
    if (acceptor) acceptor->close();
    acceptor.reset();
    close_all();
  });
  // Stopped, not left to run out of work: an operation that outlived close_all() (a peer's
  // handshake or write in flight) must not keep the join waiting. The context's destructor
  // frees what is still queued.
  work.reset();
  ioc.stop();
  thread.join();
}

void TestApiServer::Impl::run_sync(const std::function<void()>& fn) {
  std::promise<void> done;
  net::post(ioc, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

void TestApiServer::Impl::open_listener() {
  tcp::endpoint ep(net::ip::make_address(opts.address), port);
  acceptor.emplace(ioc);
  acceptor->open(ep.protocol());
  acceptor->set_option(net::socket_base::reuse_address(true));
  // Tests fork model servers and the gateway while this listens: without close-on-exec they
  // would inherit the socket and keep the port listening after stop().
  ::fcntl(acceptor->native_handle(), F_SETFD, FD_CLOEXEC);
  acceptor->bind(ep);
  acceptor->listen(net::socket_base::max_listen_connections);
  port = acceptor->local_endpoint().port();
  accept();
}

void TestApiServer::Impl::accept() {
  acceptor->async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor || !acceptor->is_open()) return;
    if (!ec) {
      ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
      socket.set_option(tcp::no_delay(true), ec);
      serve_connection(*this, std::move(socket));
    }
    accept();
  });
}

void TestApiServer::Impl::close_all() {
  auto copy = connections;
  for (auto& [raw, weak] : copy) {
    if (auto c = weak.lock()) c->close();
  }
}

bool TestApiServer::Impl::authorized(const std::string& header) {
  std::lock_guard lock(mu);
  if (tokens.empty()) return true;
  const std::string prefix = "Bearer ";
  if (header.rfind(prefix, 0) != 0) return false;
  const std::string token = header.substr(prefix.size());
  for (const auto& t : tokens) {
    if (t == token) return true;
  }
  return false;
}

void TestApiServer::Impl::account(const std::string& verb, const std::string& line) {
  std::lock_guard lock(mu);
  if (!verb.empty()) ++counts[verb];
  ++counts["total"];
  log.push_back(line);
}

TestApiServer::TestApiServer(ApiServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
TestApiServer::~TestApiServer() = default;

uint16_t TestApiServer::port() const { return impl_->port; }

std::string TestApiServer::url() const {
  return impl_->scheme + "://" + impl_->opts.address + ":" + std::to_string(impl_->port);
}

void TestApiServer::stop() {
  impl_->run_sync([this] {
    if (impl_->acceptor) impl_->acceptor->close();
    impl_->acceptor.reset();
    impl_->close_all();
  });
}

void TestApiServer::start() {
  std::exception_ptr failed;
  impl_->run_sync([&] {
    if (impl_->acceptor) return;
    try {
      impl_->open_listener();
    } catch (...) {
      impl_->acceptor.reset();
      failed = std::current_exception();
    }
  });
  if (failed) std::rethrow_exception(failed);
}

void TestApiServer::drop_watches() {
  impl_->run_sync([this] {
    auto copy = impl_->watchers;
    for (auto& [raw, weak] : copy) {
      if (auto c = weak.lock()) c->end_watch();
    }
  });
}

void TestApiServer::compact() { impl_->store.compact(); }

void TestApiServer::set_tokens(std::vector<std::string> tokens) {
  std::lock_guard lock(impl_->mu);
  impl_->tokens = std::move(tokens);
}

json TestApiServer::get(const std::string& group, const std::string& resource, const std::string& ns,
                        const std::string& name) const {
  const kube::ResourceKind* k = kube::find_kind(group, resource);
  if (k == nullptr) return nullptr;
  ApiResult r = impl_->store.get(*k, k->namespaced ? ns : "", name);
  return r.ok() ? r.body : json(nullptr);
}

json TestApiServer::list(const std::string& group, const std::string& resource) const {
  const kube::ResourceKind* k = kube::find_kind(group, resource);
  if (k == nullptr) return json::array();
  kube::Filter f;
  f.kind = k;
  return impl_->store.list(*k, k->versions.front(), f, {}).body["items"];
}

namespace {
const kube::ResourceKind* kind_of(const json& object) {
  if (!object.is_object()) return nullptr;
  return kube::find_kind_of(object.value("apiVersion", ""), object.value("kind", ""));
}
std::string version_of(const json& object) {
  const std::string av = object.value("apiVersion", "");
  const auto slash = av.find('/');
  return slash == std::string::npos ? av : av.substr(slash + 1);
}
ApiResult unknown_kind(const json& object) {
  return kube::failure(404, "NotFound", "no resource serves apiVersion " + object.value("apiVersion", std::string("?")) +
                                             " kind " + object.value("kind", std::string("?")));
}
std::string namespace_of(const kube::ResourceKind& k, const json& object) {
  if (!k.namespaced) return "";
  const std::string ns = object.contains("metadata") ? object["metadata"].value("namespace", "") : "";
  return ns.empty() ? "default" : ns;
}
}  // namespace

ApiResult TestApiServer::create(const json& object) {
  const kube::ResourceKind* k = kind_of(object);
  if (k == nullptr) return unknown_kind(object);
  return impl_->store.create(*k, version_of(object), namespace_of(*k, object), object);
}

ApiResult TestApiServer::update(const json& object, bool status) {
  const kube::ResourceKind* k = kind_of(object);
  if (k == nullptr) return unknown_kind(object);
  const std::string name = object.contains("metadata") ? object["metadata"].value("name", "") : "";
  return impl_->store.replace(*k, namespace_of(*k, object), name, object, status);
}

ApiResult TestApiServer::remove(const std::string& group, const std::string& resource, const std::string& ns,
                                const std::string& name) {
  const kube::ResourceKind* k = kube::find_kind(group, resource);
  if (k == nullptr) return kube::failure(404, "NotFound", "no resource " + resource + " in group \"" + group + "\"");
  return impl_->store.remove(*k, k->namespaced ? ns : "", name, json::object());
}

std::string TestApiServer::resource_version() const { return std::to_string(impl_->store.current_rv()); }

std::map<std::string, uint64_t> TestApiServer::request_counts() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counts;
}

uint64_t TestApiServer::open_watches() const { return impl_->watches.load(); }

std::vector<std::string> TestApiServer::request_log() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

void TestApiServer::reset_request_accounting() {
  std::lock_guard lock(impl_->mu);
  impl_->counts.clear();
  impl_->log.clear();
}

}  // namespace infergate::testing
