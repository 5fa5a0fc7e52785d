#include "gateway/net/socket_connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace infergate::gateway {

namespace {
constexpr size_t kReadBufferSize = 64 * 1024;
}

SocketConnection::SocketConnection(boost::asio::ip::tcp::socket socket)
    : socket_(std::move(socket)), idle_timer_(socket_.get_executor()) {}

SocketConnection::~SocketConnection() = default;

void SocketConnection::write(std::string_view bytes) {
  if (closed_ || close_after_write_ || bytes.empty()) return;
  // With TLS the clear text waits for the end of the dispatch too: one record for what a
  // codec wrote in pieces (headers, then body) costs the peer one decryption, not several.
  (tls_ ? tls_plain_out_ : pending_).append(bytes);
  schedule_flush();
}

bool SocketConnection::seal() {
  if (!tls_ || tls_plain_out_.empty()) return true;
  const bool ok = tls_->send(tls_plain_out_);
  tls_plain_out_.clear();
  if (tls_plain_out_.capacity() > 1024 * 1024) tls_plain_out_.shrink_to_fit();
  if (!ok) {
    abort();
    return false;
  }
  take_tls_output();
  return true;
}

void SocketConnection::take_tls_output() {
  if (tls_ && tls_->has_output()) tls_->take_output(pending_);
}

bool SocketConnection::start_tls(std::unique_ptr<tls::Session> session, std::string_view already_received) {
  tls_ = std::move(session);
  take_tls_output();
  if (!pending_.empty()) schedule_flush();
  if (already_received.empty()) return true;
  return deliver_tls(already_received);
}

void SocketConnection::fail_tls(tls::HandshakeError why, std::string detail) {
  if (tls_ && !tls_established_ && tls_->error() == tls::HandshakeError::None) {
    tls_->fail(why, std::move(detail));
    on_tls_failed();
  }
  abort();
}

// Ciphertext in: the handshake advances or records decrypt; what the session wants to send
// (handshake flights, alerts) joins the write queue, clear text goes to on_bytes.
bool SocketConnection::deliver_tls(std::string_view cipher) {
  tls_plain_.clear();
  const bool ok = tls_->receive(cipher, tls_plain_);
  take_tls_output();
  if (!ok) {
    // Alerts still go out; nothing else will.
    tls_plain_out_.clear();
    if (!tls_established_ && !tls_->established()) on_tls_failed();
    if (closed_) return false;
    close_after_write_ = true;
    schedule_flush();
    return false;
  }
  if (!tls_established_ && tls_->established()) {
    tls_established_ = true;
    on_tls_established();
    if (closed_) return false;
  }
  if (!tls_plain_.empty()) {
    std::string plain;
    plain.swap(tls_plain_);  // on_bytes may start TLS reads of its own (it never does today)
    const bool keep = on_bytes(plain);
    plain.clear();
    if (tls_plain_.capacity() < plain.capacity() && plain.capacity() <= 1024 * 1024) tls_plain_.swap(plain);
    if (closed_) return false;
    if (!keep) {
      close_after_write();
      return false;
    }
  }
  if (tls_->peer_closed()) {
    close_after_write();
    return false;
  }
  if (!pending_.empty()) schedule_flush();
  return true;
}

void SocketConnection::schedule_flush() {
  tick_wanted_ = true;
  if (flush_posted_ || closed_) return;
  flush_posted_ = true;
  boost::asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void SocketConnection::flush() {
  if (closed_) return;
  if (tick_wanted_) {
    tick_wanted_ = false;
    on_tick();
    if (closed_) return;
  }
  if (!writing_ && !seal()) return;
  if (!writing_ && !pending_.empty()) do_write();
  if (!writing_ && pending_.empty() && close_after_write_) finish_close(false);
}

void SocketConnection::do_write() {
  writing_ = true;
  in_flight_.swap(pending_);
  pending_.clear();
  in_flight_bytes_ = in_flight_.size();
  boost::asio::async_write(socket_, boost::asio::buffer(in_flight_),
                           [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                             self->writing_ = false;
                             self->in_flight_bytes_ = 0;
                             self->tx_bytes_ += n;
                             if (self->closed_) return;
                             if (ec) {
                               self->finish_close(true);
                               return;
                             }
                             if (self->io_is_activity_) self->last_activity_ = std::chrono::steady_clock::now();
                             if (!self->seal()) return;
                             if (!self->pending_.empty()) {
                               self->do_write();
                               return;
                             }
                             if (self->close_after_write_) {
                               self->finish_close(false);
                               return;
                             }
                             self->in_flight_.clear();
                             if (self->in_flight_.capacity() > 1024 * 1024) self->in_flight_.shrink_to_fit();
                             self->on_drained();
                             self->flush();
                           });
}

void SocketConnection::start_reading() {
  if (!reading_ && !read_paused_ && !closed_) {
    if (!socket_.non_blocking()) {
      // read_some must never block the worker (upstream sockets open on connect).
      boost::system::error_code ec;
      socket_.non_blocking(true, ec);
    }
    do_read();
  }
}

// An idle connection waits with only its small inline buffer (10,000 idle keep-alive
// connections would pin 640 MB with 64 KiB each). Most requests and small responses
// fit in it, costing one recv per read; when it comes back full, the rest is read
// at once into one large buffer per worker thread. Codecs copy what they keep.
void SocketConnection::do_read() {
  reading_ = true;
  socket_.async_read_some(boost::asio::buffer(small_buffer_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            self->reading_ = false;
                            if (self->closed_) return;
                            if (ec) {
                              self->finish_close(true);
                              return;
                            }
                            if (!self->deliver(self->small_buffer_.data(), n)) return;
                            if (n == self->small_buffer_.size() && !self->drain_socket()) return;
                            if (!self->read_paused_ && !self->reading_ && !self->closed_ &&
                                !self->close_after_write_)
                              self->do_read();
                          });
}

bool SocketConnection::deliver(const char* data, size_t n) {
  rx_bytes_ += n;
  if (io_is_activity_) last_activity_ = std::chrono::steady_clock::now();
  if (tls_) {
    if (!deliver_tls(std::string_view(data, n))) return false;
    flush();
    return !closed_;
  }
  bool keep = on_bytes(std::string_view(data, n));
  if (closed_) return false;
  if (!keep) {
    close_after_write();
    return false;
  }
  flush();
  return !closed_;
}

bool SocketConnection::drain_socket() {
  thread_local std::vector<char> buffer(kReadBufferSize);
  // Bounded per turn so one fast sender does not starve the worker's other connections;
  // what is left is picked up by the next async read.
  for (int turn = 0; turn < 16; ++turn) {
    if (read_paused_ || close_after_write_) return true;
    boost::system::error_code ec;
    size_t n = socket_.read_some(boost::asio::buffer(buffer), ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return true;
    if (ec) {
      finish_close(true);
      return false;
    }
    if (!deliver(buffer.data(), n)) return false;
    if (n < buffer.size()) return true;
  }
  return true;
}

void SocketConnection::pause_reading(bool paused) {
  if (read_paused_ == paused) return;
  read_paused_ = paused;
  if (paused) {
    if (!closed_) paused_hold_ = shared_from_this();
    return;
  }
  if (!reading_ && !closed_ && !close_after_write_) {
    // Resume from a fresh handler: the caller may be deep inside a codec callback.
    boost::asio::post(socket_.get_executor(), [self = shared_from_this()] { self->start_reading(); });
  }
  // Released from a fresh handler too: it may be the last owner.
  if (paused_hold_) boost::asio::post(socket_.get_executor(), [hold = std::move(paused_hold_)] {});
}

void SocketConnection::close_after_write() {
  if (closed_) return;
  if (tls_ && !close_after_write_ && tls_established_) {
    if (!seal()) return;
    tls_->close();  // close_notify, so the peer knows the response is complete
    take_tls_output();
  }
  close_after_write_ = true;
  if (!writing_ && pending_.empty()) {
    // Still let the current dispatch finish before tearing down.
    schedule_flush();
  }
}

void SocketConnection::abort() {
  if (closed_) return;
  pending_.clear();
  tls_plain_out_.clear();
  finish_close(false);
}

void SocketConnection::arm_idle_timer(std::chrono::milliseconds timeout) {
  idle_timeout_ = timeout;
  last_activity_ = std::chrono::steady_clock::now();
  if (timeout.count() <= 0) {
    idle_timer_.cancel();
    return;
  }
  wait_idle(timeout);
}

// Activity only stamps a time; the timer re-arms itself for the remainder when it
// fires early, so busy connections never touch the timer queue per read or write.
void SocketConnection::wait_idle(std::chrono::steady_clock::duration delay) {
  idle_timer_.expires_after(delay);
  idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || self->closed_ || self->idle_timeout_.count() <= 0) return;
    auto deadline = self->last_activity_ + self->idle_timeout_;
    auto now = std::chrono::steady_clock::now();
    if (now < deadline) {
      self->wait_idle(deadline - now);
      return;
    }
    self->on_idle_timeout();
  });
}

void SocketConnection::finish_close(bool by_peer) {
  if (closed_) return;
  if (tls_ && !tls_established_ && tls_->error() == tls::HandshakeError::None) {
    tls_->fail(tls::HandshakeError::Closed, by_peer ? "the peer closed during the handshake" : "closed during the handshake");
    on_tls_failed();
  }
  closed_ = true;
  boost::system::error_code ignored;
  if (!by_peer) socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  idle_timer_.cancel();
  if (!close_notified_) {
    close_notified_ = true;
    on_closed(by_peer);
  }
  if (paused_hold_) boost::asio::post(socket_.get_executor(), [hold = std::move(paused_hold_)] {});
}

}  // namespace infergate::gateway
