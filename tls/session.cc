#include "tls/session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace infergate::tls {

namespace {

constexpr unsigned char kHandshakeRecord = 0x16;

HandshakeError classify_ssl_reason(unsigned long err) {
  if (ERR_GET_LIB(err) != ERR_LIB_SSL) return HandshakeError::Other;
  const int reason = ERR_GET_REASON(err);
  switch (reason) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return HandshakeError::NoCertificate;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_PACKET_LENGTH_TOO_LONG: return HandshakeError::NotTls;
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_NO_SHARED_SIGNATURE_ALGORITHMS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM: return HandshakeError::Protocol;
    case SSL_R_CERTIFICATE_VERIFY_FAILED: return HandshakeError::UnknownCa;
    default: break;
  }
  // Alerts the peer sent arrive as SSL_AD_REASON_OFFSET + alert number.
  if (reason >= SSL_AD_REASON_OFFSET) return HandshakeError::PeerAlert;
  return HandshakeError::Protocol;
}

}  // namespace

Session::Session(SSL* ssl) : ssl_(ssl) {
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  // An empty read BIO means "more data later", never end of file.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_, rbio_, wbio_);
  detail::attach_verify_state(ssl_, &verify_);
}

Session::~Session() {
  if (ssl_) SSL_free(ssl_);
}

std::unique_ptr<Session> Session::server(std::shared_ptr<const ServerContext> ctx) {
  SSL* ssl = ctx->new_ssl();
  if (!ssl) return nullptr;
  std::unique_ptr<Session> s(new Session(ssl));
  s->verify_.trust_domain = ctx->trust_domain();
  s->server_ctx_ = std::move(ctx);
  return s;
}

std::unique_ptr<Session> Session::client(std::shared_ptr<const ClientContext> ctx) {
  SSL* ssl = ctx->new_ssl();
  if (!ssl) return nullptr;
  std::unique_ptr<Session> s(new Session(ssl));
  s->verify_.accepted_sans = &ctx->subject_alt_names();
  s->client_ctx_ = std::move(ctx);
  s->saw_first_byte_ = s->first_byte_is_handshake_ = true;  // our side speaks first
  s->drive_handshake();
  return s;
}

bool Session::receive(std::string_view cipher, std::string& plain) {
  if (failed_) return false;
  if (cipher.empty()) return true;
  if (!saw_first_byte_) {
    saw_first_byte_ = true;
    first_byte_is_handshake_ = static_cast<unsigned char>(cipher[0]) == kHandshakeRecord;
  }
  BIO_write(rbio_, cipher.data(), static_cast<int>(cipher.size()));
  if (!established_) {
    if (!drive_handshake()) return false;
    if (!established_) return true;
  }
  return read_plain(plain);
}

bool Session::drive_handshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    on_established();
    if (!held_.empty()) {
      std::string held;
      held.swap(held_);
      return write_plain(held);
    }
    return true;
  }
  const int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
  on_failure(e);
  return false;
}

void Session::on_established() {
  established_ = true;
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &len);
  if (proto) alpn_.assign(reinterpret_cast<const char*>(proto), len);
  if (const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) sni_ = name;
  if (X509* leaf = SSL_get0_peer_certificate(ssl_)) {
    // The server side's SSL_get_peer_cert_chain leaves the leaf out; the full verified chain
    // is what XFCC's Chain= carries.
    STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl_);
    peer_ = describe_certificate(leaf, chain);
  }
}

void Session::on_failure(int ssl_error) {
  failed_ = true;
  const unsigned long err = ERR_peek_error();
  HandshakeError why = HandshakeError::None;
  if (!established_ && !first_byte_is_handshake_) {
    why = HandshakeError::NotTls;
  } else if (verify_.error != HandshakeError::None) {
    why = verify_.error;
    error_detail_ = verify_.detail;
  } else if (long v = SSL_get_verify_result(ssl_); v != X509_V_OK && SSL_get0_peer_certificate(ssl_)) {
    why = detail::classify_verify_error(v);
    error_detail_ = X509_verify_cert_error_string(v);
  } else if (ssl_error == SSL_ERROR_SSL && err) {
    why = classify_ssl_reason(err);
  } else {
    why = HandshakeError::Other;
  }
  if (established_ && why == HandshakeError::Protocol) why = HandshakeError::Other;
  error_ = why;
  std::string queue = detail::openssl_errors();
  if (error_detail_.empty()) error_detail_ = std::move(queue);
}

void Session::fail(HandshakeError why, std::string detail) {
  if (failed_) return;
  failed_ = true;
  error_ = why;
  error_detail_ = std::move(detail);
}

bool Session::read_plain(std::string& plain) {
  thread_local char buffer[16 * 1024];
  for (;;) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n > 0) {
      plain.append(buffer, static_cast<size_t>(n));
      continue;
    }
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    if (e == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return true;
    }
    on_failure(e);
    return false;
  }
}

bool Session::send(std::string_view plain) {
  if (failed_ || closed_) return false;
  if (plain.empty()) return true;
  if (!established_) {
    held_.append(plain);
    return true;
  }
  return write_plain(plain);
}

bool Session::write_plain(std::string_view plain) {
  ERR_clear_error();
  size_t written = 0;
  if (SSL_write_ex(ssl_, plain.data(), plain.size(), &written) == 1 && written == plain.size()) return true;
  on_failure(SSL_get_error(ssl_, 0));
  return false;
}

void Session::close() {
  if (closed_ || failed_) return;
  closed_ = true;
  if (established_) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
  }
}

bool Session::has_output() const { return BIO_ctrl_pending(wbio_) > 0; }

void Session::take_output(std::string& out) {
  const size_t n = BIO_ctrl_pending(wbio_);
  if (n == 0) return;
  const size_t at = out.size();
  out.resize(at + n);
  const int got = BIO_read(wbio_, out.data() + at, static_cast<int>(n));
  out.resize(at + static_cast<size_t>(got > 0 ? got : 0));
}

std::string_view Session::version() const { return SSL_get_version(ssl_); }

std::string_view Session::cipher() const {
  const char* c = SSL_get_cipher_name(ssl_);
  return c ? c : "";
}

bool Session::resumed() const { return SSL_session_reused(ssl_) == 1; }

}  // namespace infergate::tls
