#pragma once
// One TLS connection, sans I/O: ciphertext in from the socket, plaintext out to the codec,
// and back. The gateway's socket layer owns the bytes on the wire; this only transforms
// them, so it is testable with two sessions wired back to back and never blocks.
//
// Plaintext sent before the handshake completes is held and encrypted once it does (an
// upstream codec writes its request right after connect).
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tls/client_context.h"
#include "tls/context_util.h"
#include "tls/handshake_error.h"
#include "tls/peer_certificate.h"
#include "tls/server_context.h"

namespace infergate::tls {

class Session {
 public:
  static std::unique_ptr<Session> server(std::shared_ptr<const ServerContext> ctx);
  // Writes the ClientHello (take_output) at once.
  static std::unique_ptr<Session> client(std::shared_ptr<const ClientContext> ctx);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Ciphertext from the peer; decrypted application data is appended to `plain`. False
  // when the connection must end (error() says why); true otherwise, also while the
  // handshake is still going (has_output() then usually holds our next flight).
  bool receive(std::string_view cipher, std::string& plain);
  // Application data to encrypt (held until the handshake completes). False after an error.
  bool send(std::string_view plain);
  // Queues close_notify.
  void close();
  // The peer fails the handshake by going away (socket closed or timed out).
  void fail(HandshakeError why, std::string detail);

  bool has_output() const;
  // Moves the ciphertext for the peer to the end of `out`.
  void take_output(std::string& out);

  bool established() const { return established_; }
  bool peer_closed() const { return peer_closed_; }  // close_notify received
  HandshakeError error() const { return error_; }
  const std::string& error_detail() const { return error_detail_; }

  // After the handshake:
  std::string_view alpn() const { return alpn_; }  // "" = none negotiated
  std::string_view sni() const { return sni_; }
  std::string_view version() const;  // "TLSv1.3"
  std::string_view cipher() const;
  bool resumed() const;
  // The verified client (server side) or server (client side) certificate; nullptr when
  // none was presented.
  const PeerCertificate* peer() const { return peer_ ? &*peer_ : nullptr; }
  // The server context this session was accepted with (XFCC's By=), null on the client side.
  const ServerContext* server_context() const { return server_ctx_.get(); }

 private:
  Session(SSL* ssl);
  bool drive_handshake();
  bool read_plain(std::string& plain);
  bool write_plain(std::string_view plain);
  void on_failure(int ssl_error);
  void on_established();

  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;
  std::shared_ptr<const ServerContext> server_ctx_;
  std::shared_ptr<const ClientContext> client_ctx_;
  detail::VerifyState verify_;
  std::string held_;  // plaintext sent before the handshake completed
  std::optional<PeerCertificate> peer_;
  std::string alpn_;
  std::string sni_;
  HandshakeError error_ = HandshakeError::None;
  std::string error_detail_;
  bool established_ = false;
  bool peer_closed_ = false;
  bool closed_ = false;
  bool failed_ = false;
  bool saw_first_byte_ = false;
  bool first_byte_is_handshake_ = false;
};

}  // namespace infergate::tls
