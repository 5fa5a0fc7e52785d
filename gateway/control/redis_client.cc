#include "gateway/control/redis_client.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <thread>

namespace infergate::gateway {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::string_view failure_name(RedisReply::Failure f) {
  switch (f) {
    case RedisReply::Failure::None: return "none";
    case RedisReply::Failure::NotConnected: return "not_connected";
    case RedisReply::Failure::Timeout: return "timeout";
    case RedisReply::Failure::Disconnected: return "disconnected";
    case RedisReply::Failure::Protocol: return "protocol";
    case RedisReply::Failure::Shutdown: return "shutdown";
  }
  return "unknown";
}

namespace {

constexpr std::chrono::milliseconds kMinBackoff{100}, kMaxBackoff{2000};
constexpr std::chrono::milliseconds kMinConnectTimeout{1000};
constexpr int kDown = 0, kConnecting = 1, kConnected = 2;

RedisReply failed(RedisReply::Failure f, std::string why) {
  RedisReply r;
  r.failure = f;
  r.str = std::move(why);
  return r;
}

RedisReply convert(const redisReply& in) {
  RedisReply r;
  switch (in.type) {
    case REDIS_REPLY_NIL: r.kind = RedisReply::Kind::Nil; break;
    case REDIS_REPLY_INTEGER: r.kind = RedisReply::Kind::Integer; r.integer = in.integer; break;
    case REDIS_REPLY_STRING: r.kind = RedisReply::Kind::String; break;
    case REDIS_REPLY_STATUS: r.kind = RedisReply::Kind::Status; break;
    case REDIS_REPLY_ERROR: r.kind = RedisReply::Kind::Error; break;
    case REDIS_REPLY_ARRAY:
      r.kind = RedisReply::Kind::Array;
      r.elements.reserve(in.elements);
      for (size_t i = 0; i < in.elements; ++i)
        if (in.element[i]) r.elements.push_back(convert(*in.element[i]));
      break;
    default: r.kind = RedisReply::Kind::Error; r.str = "unexpected reply type"; return r;
  }
  if (in.str && (r.kind == RedisReply::Kind::String || r.kind == RedisReply::Kind::Status ||
                 r.kind == RedisReply::Kind::Error))
    r.str.assign(in.str, in.len);
  return r;
}

}  // namespace

struct RedisClient::Impl : std::enable_shared_from_this<Impl> {
  // hiredis' read/write interest on the context's socket, as Asio waits. Owned by the Impl; the
  // pending waits hold it too, so a wait that completes after the context went away finds it.
  struct Watch : std::enable_shared_from_this<Watch> {
    Watch(Impl& o, redisAsyncContext* c) : owner(o), ac(c), sd(o.io) {}
    Impl& owner;
    redisAsyncContext* ac;  // null once hiredis cleaned up
    asio::posix::stream_descriptor sd;
    bool want_read = false, want_write = false, read_armed = false, write_armed = false;

    void arm(bool write) {
      bool& armed = write ? write_armed : read_armed;
      if (armed || !ac) return;
      armed = true;
      sd.async_wait(write ? asio::posix::descriptor_base::wait_write : asio::posix::descriptor_base::wait_read,
                    [self = shared_from_this(), write](boost::system::error_code ec) {
                      (write ? self->write_armed : self->read_armed) = false;
                      if (ec || !self->ac || !(write ? self->want_write : self->want_read)) return;
                      // May free the context (cleanup() clears ac) or re-add interest.
                      if (write) redisAsyncHandleWrite(self->ac);
                      else redisAsyncHandleRead(self->ac);
                      if (self->ac && (write ? self->want_write : self->want_read)) self->arm(write);
                    });
    }
    static void add_read(void* p) { static_cast<Watch*>(p)->want_read = true, static_cast<Watch*>(p)->arm(false); }
    static void del_read(void* p) { static_cast<Watch*>(p)->want_read = false; }
    static void add_write(void* p) { static_cast<Watch*>(p)->want_write = true, static_cast<Watch*>(p)->arm(true); }
    static void del_write(void* p) { static_cast<Watch*>(p)->want_write = false; }
    static void cleanup(void* p) {
      auto* w = static_cast<Watch*>(p);
      // Should hiredis ever free a context without calling back, the connection is still
      // known to be gone (on_connect / on_disconnect, which run right after, make this a no-op).
      asio::post(w->owner.io, [impl = w->owner.shared_from_this(), gone = w->ac] {
        if (impl->ac == gone) {
          impl->ac = nullptr;
          impl->lost("disconnected", "the connection closed");
        }
      });
      w->ac = nullptr;
      w->want_read = w->want_write = false;
      // hiredis closes the descriptor itself: hand it back (this cancels the waits) first.
      if (w->sd.is_open()) (void)w->sd.release();
    }
  };

  struct Pending {
    Clock::time_point deadline;
    Callback done;
    bool finished = false;
    void finish(RedisReply r) {
      if (finished) return;
      finished = true;
      done(std::move(r));
    }
  };

  Impl(Options o, Events e)
      : options(std::move(o)), events(std::move(e)), work(io.get_executor()), timer(io), reconnect_timer(io) {}

  Options options;
  Events events;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::atomic<int> state{kDown};
  // The client's thread only:
  redisAsyncContext* ac = nullptr;
  std::shared_ptr<Watch> watch;
  std::deque<std::shared_ptr<Pending>> pending;  // in deadline order (one timeout for all)
  asio::steady_timer timer, reconnect_timer;
  bool timer_armed = false;
  Clock::time_point connect_deadline = Clock::time_point::max();
  std::chrono::milliseconds backoff = kMinBackoff;
  bool stopping = false;
  bool closing = false;  // we free the context ourselves: its disconnect is already handled

  void connect() {
    if (stopping) return;
    state = kConnecting;
    ac = redisAsyncConnect(options.host.c_str(), options.port);
    if (!ac || ac->err) {
      const std::string why = ac ? ac->errstr : "out of memory";
      if (ac) redisAsyncFree(ac);
      ac = nullptr;
      lost("connect", why);
      return;
    }
    ac->data = this;
    watch = std::make_shared<Watch>(*this, ac);
    boost::system::error_code ec;
    watch->sd.assign(ac->c.fd, ec);
    if (ec) {
      watch->ac = nullptr;
      redisAsyncContext* a = ac;
      ac = nullptr;
      redisAsyncFree(a);
      lost("connect", ec.message());
      return;
    }
    ac->ev.data = watch.get();
    ac->ev.addRead = &Watch::add_read;
    ac->ev.delRead = &Watch::del_read;
    ac->ev.addWrite = &Watch::add_write;
    ac->ev.delWrite = &Watch::del_write;
    ac->ev.cleanup = &Watch::cleanup;
    redisAsyncSetConnectCallback(ac, &Impl::on_connect);
    redisAsyncSetDisconnectCallback(ac, &Impl::on_disconnect);
    connect_deadline = Clock::now() + std::max(options.timeout, kMinConnectTimeout);
    arm_timer();
  }

  static void on_connect(const redisAsyncContext* c, int status) {
    auto* self = static_cast<Impl*>(c->data);
    if (status != REDIS_OK) {
      // hiredis frees the context after this returns.
      self->ac = nullptr;
      self->lost("connect", c->errstr[0] ? c->errstr : "connection refused");
      return;
    }
    self->state = kConnected;
    self->connect_deadline = Clock::time_point::max();
    self->backoff = kMinBackoff;
    if (self->events.up) self->events.up();
  }

  static void on_disconnect(const redisAsyncContext* c, int) {
    auto* self = static_cast<Impl*>(c->data);
    if (self->closing) return;
    self->ac = nullptr;
    if (c->err == REDIS_ERR_PROTOCOL || c->c.err == REDIS_ERR_PROTOCOL) self->lost("protocol", c->errstr);
    else self->lost("disconnected", c->err ? c->errstr : "the server closed the connection");
  }

  static void on_reply(redisAsyncContext* c, void* reply, void* privdata) {
    std::unique_ptr<std::shared_ptr<Pending>> holder(static_cast<std::shared_ptr<Pending>*>(privdata));
    Pending& p = **holder;
    if (p.finished) return;
    if (reply) {
      p.finish(convert(*static_cast<const redisReply*>(reply)));
      return;
    }
    auto* self = static_cast<Impl*>(c->data);
    if (self->stopping) p.finish(failed(RedisReply::Failure::Shutdown, "client shut down"));
    else if (c->err == REDIS_ERR_PROTOCOL || c->c.err == REDIS_ERR_PROTOCOL) p.finish(failed(RedisReply::Failure::Protocol, c->errstr));
    else p.finish(failed(RedisReply::Failure::Disconnected, c->err ? c->errstr : "connection lost"));
  }

  // The connection is gone (or never came): report it and try again after the backoff.
  void lost(std::string_view kind, const std::string& why) {
    state = kDown;
    connect_deadline = Clock::time_point::max();
    if (stopping) return;
    if (events.down) events.down(kind, why);
    reconnect_timer.expires_after(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
    reconnect_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->connect();
    });
  }

  // Frees the context ourselves (a timeout): its commands fail as disconnected.
  void drop(std::string_view kind, const std::string& why) {
    if (!ac) return;
    redisAsyncContext* a = ac;
    ac = nullptr;
    closing = true;
    redisAsyncFree(a);
    closing = false;
    lost(kind, why);
  }

  void run_command(std::vector<std::string> argv, Callback done) {
    if (stopping) return done(failed(RedisReply::Failure::Shutdown, "client shut down"));
    if (!ac) return done(failed(RedisReply::Failure::NotConnected, "not connected"));
    auto p = std::make_shared<Pending>();
    p->deadline = Clock::now() + options.timeout;
    p->done = std::move(done);
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (const std::string& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* holder = new std::shared_ptr<Pending>(p);
    if (redisAsyncCommandArgv(ac, &Impl::on_reply, holder, static_cast<int>(args.size()), args.data(), lens.data()) !=
        REDIS_OK) {
      delete holder;
      p->finish(failed(RedisReply::Failure::Disconnected, "the connection is closing"));
      return;
    }
    while (!pending.empty() && pending.front()->finished) pending.pop_front();
    pending.push_back(std::move(p));
    arm_timer();
  }

  void arm_timer() {
    if (timer_armed) return;
    while (!pending.empty() && pending.front()->finished) pending.pop_front();
    Clock::time_point next = connect_deadline;
    if (!pending.empty()) next = std::min(next, pending.front()->deadline);
    if (next == Clock::time_point::max()) return;
    timer_armed = true;
    timer.expires_at(next);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->timer_armed = false;
      if (ec || self->stopping) return;
      self->on_timer();
    });
  }

  void on_timer() {
    const auto now = Clock::now();
    if (ac && state == kConnecting && now >= connect_deadline) {
      drop("connect", "no connection within " + std::to_string(std::max(options.timeout, kMinConnectTimeout).count()) +
                          "ms");
    }
    bool expired = false;
    while (!pending.empty() && (pending.front()->finished || pending.front()->deadline <= now)) {
      std::shared_ptr<Pending> p = std::move(pending.front());
      pending.pop_front();
      if (p->finished) continue;
      expired = true;
      p->finish(failed(RedisReply::Failure::Timeout,
                       "no reply within " + std::to_string(options.timeout.count()) + "ms"));
    }
    // Replies that come late would answer the next commands: start over on a new connection.
    if (expired) drop("timeout", "no reply within " + std::to_string(options.timeout.count()) + "ms");
    arm_timer();
  }

  void stop() {
    stopping = true;
    state = kDown;
    timer.cancel();
    reconnect_timer.cancel();
    if (ac) {
      redisAsyncContext* a = ac;
      ac = nullptr;
      closing = true;
      redisAsyncFree(a);  // its commands' callbacks run now, as Shutdown
    }
    for (auto& p : pending) p->finish(failed(RedisReply::Failure::Shutdown, "client shut down"));
    pending.clear();
    work.reset();
  }
};

RedisClient::RedisClient(Options options, Events events)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(events))) {
  asio::post(impl_->io, [impl = impl_.get()] { impl->connect(); });
  // The thread owns the Impl until its io_context runs out of work (after stop()).
  std::thread([impl = impl_] {
    try {
      impl->io.run();
    } catch (...) {  // nothing here throws by design; never take the process down for it
    }
  }).detach();
}

RedisClient::~RedisClient() {
  asio::post(impl_->io, [impl = impl_] { impl->stop(); });
}

void RedisClient::command(std::vector<std::string> argv, Callback done) {
  asio::post(impl_->io, [impl = impl_, argv = std::move(argv), done = std::move(done)]() mutable {
    impl->run_command(std::move(argv), std::move(done));
  });
}

bool RedisClient::available() const { return impl_->state.load(std::memory_order_relaxed) != kDown; }
bool RedisClient::connected() const { return impl_->state.load(std::memory_order_relaxed) == kConnected; }

}  // namespace infergate::gateway
