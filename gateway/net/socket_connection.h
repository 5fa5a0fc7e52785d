// A TCP connection that does the socket I/O for a sans-I/O codec.
//
// With TLS started (start_tls), the same holds for plaintext: codecs read and write clear
// text, the session in between turns it into records.
//
// Writes are gathered: everything a codec queues during one event dispatch goes out
// in one write at the end of it. Reads land in a small inline buffer, large reads
// continue in a per-worker one; both reach the subclass as views. Lifetime is by
// shared_ptr: each pending operation holds one, so a connection lives exactly as long
// as it has I/O or an owner (a paused connection holds itself until resumed).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gateway/http/codec.h"
#include "tls/session.h"

namespace infergate::gateway {

class SocketConnection : public ConnectionIo, public std::enable_shared_from_this<SocketConnection> {
 public:
  explicit SocketConnection(boost::asio::ip::tcp::socket socket);
  ~SocketConnection() override;

  // ConnectionIo
  void write(std::string_view bytes) override;
  size_t write_buffered() const override { return pending_.size() + in_flight_bytes_ + tls_plain_out_.size(); }
  void pause_reading(bool paused) override;
  void close_after_write() override;
  void abort() override;
  void schedule_flush() override;

  bool closed() const { return closed_; }
  // The TLS session once start_tls was called (nullptr for plaintext connections).
  const tls::Session* tls() const { return tls_.get(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  uint64_t bytes_received() const { return rx_bytes_; }
  uint64_t bytes_sent() const { return tx_bytes_; }

 protected:
  // Begins reading; call once the connection is established.
  void start_reading();
  // Received bytes (plaintext once TLS is on). Return false to close the connection.
  virtual bool on_bytes(std::string_view bytes) = 0;
  // From now on bytes on the wire go through `session`; its first flight (a client's
  // ClientHello) is sent. `already_received` is ciphertext read before TLS was started (the
  // bytes a protocol sniff looked at): it is processed now. Returns false when the
  // connection ends (then it has been closed).
  bool start_tls(std::unique_ptr<tls::Session> session, std::string_view already_received = {});
  // The handshake completed (ALPN, peer certificate are known).
  virtual void on_tls_established() {}
  // The handshake failed (the connection closes after this). tls()->error() says why.
  virtual void on_tls_failed() {}
  // Ends a handshake that is not finishing (timeout) as failed, then aborts.
  void fail_tls(tls::HandshakeError why, std::string detail);
  bool tls_established() const { return tls_established_; }
  // The socket took everything queued.
  virtual void on_drained() = 0;
  // End of a dispatch in which schedule_flush() was called.
  virtual void on_tick() = 0;
  // The connection is gone (peer close, error, abort, or close after write). Called once.
  virtual void on_closed(bool by_peer) = 0;
  // Arms the idle timer: on_idle_timeout runs after `timeout` without reads or writes;
  // 0 disables it. on_idle_timeout decides what to do (and may arm it again).
  void arm_idle_timer(std::chrono::milliseconds timeout);
  virtual void on_idle_timeout() {}
  // With false, reads and writes no longer count as activity for the idle timer: the subclass
  // calls touch() when the connection is busy in its own terms (a server connection: a
  // request in flight), so bytes that carry no request cannot hold it open forever.
  void set_io_is_activity(bool yes) { io_is_activity_ = yes; }
  void touch() { last_activity_ = std::chrono::steady_clock::now(); }

  boost::asio::ip::tcp::socket socket_;

 private:
  void do_read();
  bool deliver(const char* data, size_t n);
  bool deliver_tls(std::string_view cipher);
  void take_tls_output();
  // Encrypts the clear text written since the last call into the write queue; false (and
  // the connection aborted) when the session failed.
  bool seal();
  bool drain_socket();
  void flush();
  void do_write();
  void finish_close(bool by_peer);
  void wait_idle(std::chrono::steady_clock::duration delay);

  std::array<char, 2048> small_buffer_;
  std::string pending_;    // queued, not yet handed to the socket
  std::string in_flight_;  // handed to async_write
  size_t in_flight_bytes_ = 0;
  boost::asio::steady_timer idle_timer_;
  std::chrono::milliseconds idle_timeout_{0};
  std::chrono::steady_clock::time_point last_activity_{};
  bool io_is_activity_ = true;
  uint64_t rx_bytes_ = 0, tx_bytes_ = 0;
  bool reading_ = false;
  bool read_paused_ = false;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool tick_wanted_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
  bool close_notified_ = false;
  // While reading is paused no read is pending to own the connection (and a request
  // body paused for a slow upstream has no write pending either): this stands in.
  std::shared_ptr<SocketConnection> paused_hold_;
  std::unique_ptr<tls::Session> tls_;
  std::string tls_plain_;      // decrypted bytes of one read, handed to on_bytes
  std::string tls_plain_out_;  // clear text written this dispatch, sealed at flush
  bool tls_established_ = false;
};

}  // namespace infergate::gateway
