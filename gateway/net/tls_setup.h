// TLS from config: what each listening socket serves (certificates by SNI, the client
// certificates it asks for, plaintext sniffing under PeerAuthentication PERMISSIVE) and
// what each upstream cluster presents (DestinationRule trafficPolicy.tls).
//
// Built on the control thread at every config change and certificate rotation. A socket's
// current ListenerSecurity is swapped atomically: connections already established keep the
// context they were accepted with, new ones get the new one.
#pragma once

#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "config/diagnostic.h"
#include "config/model.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace infergate::gateway {

struct ListenerSecurity {
  enum class Mode : uint8_t {
    Plaintext,
    Tls,         // every connection must handshake
    Permissive,  // TLS when the first byte starts a handshake record, else plaintext
  };
  Mode mode = Mode::Plaintext;
  std::shared_ptr<const tls::ServerContext> context;  // set unless Plaintext
  config::MtlsMode mtls = config::MtlsMode::Unset;     // the PeerAuthentication mode that applies
};

std::string_view mode_name(ListenerSecurity::Mode m);

// Read once per accepted connection, written at config changes and rotations. A mutex, not
// std::atomic<std::shared_ptr>: libstdc++ 12's implementation read past its control block
// under ASan when a store raced a load (a rotation during accepts), and an accept can
// afford an uncontended lock.
class ListenerSecuritySlot {
 public:
  std::shared_ptr<const ListenerSecurity> load() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  void store(std::shared_ptr<const ListenerSecurity> s) {
    std::lock_guard lock(mu_);
    current_.swap(s);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ListenerSecurity> current_ = std::make_shared<const ListenerSecurity>();
};

// Collects what one build read and what went wrong.
struct TlsBuild {
  std::vector<std::string> files;  // certificate, key, CA and CRL files read (watched for rotation)
  std::vector<config::Diagnostic>* errors = nullptr;
};

// Reads a PEM file into `out` and adds it to the watched files; false with *error on failure.
bool read_pem(const std::string& path, tls::PemSource& out, TlsBuild& b, std::string* error);

// The security of the socket serving `listeners` (all on one address and port). `previous`
// (may be null) passes its session-ticket keys on, so clients resume across rotations.
std::shared_ptr<const ListenerSecurity> build_listener_security(const config::Config& cfg,
                                                                const std::vector<const config::Listener*>& listeners,
                                                                uint16_t port, const ListenerSecurity* previous,
                                                                TlsBuild& build);

// The client context for upstream TLS of a DestinationRule in namespace `rule_ns`; nullptr
// for DISABLE (or on error, reported). `default_sni` is used when the rule gives no sni
// (the Service's host name); `h2` offers ALPN h2, else http/1.1.
std::shared_ptr<const tls::ClientContext> build_upstream_tls(const config::Config& cfg,
                                                             const config::IstioClientTls& settings,
                                                             std::string_view rule_ns, const std::string& resource,
                                                             const config::SourceLocation& where,
                                                             std::string_view default_sni, bool h2, TlsBuild& build);

}  // namespace infergate::gateway
