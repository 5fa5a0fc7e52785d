// HTTP/1.1 chunked transfer coding on the way out, shared by the server codec
// (responses) and the client codec (requests).
#pragma once

#include <charconv>
#include <string_view>

#include "gateway/http/codec.h"

namespace infergate::gateway {

// Queues `data` as one chunk; with end_stream also the last chunk. Trailers, when
// there are any, are written by the caller in place of the final CRLF.
inline void write_chunk(ConnectionIo& io, std::string_view data, bool end_stream) {
  if (!data.empty()) {
    char hdr[24];
    auto r = std::to_chars(hdr, hdr + 16, data.size(), 16);
    r.ptr[0] = '\r';
    r.ptr[1] = '\n';
    io.write(std::string_view(hdr, static_cast<size_t>(r.ptr + 2 - hdr)));
    io.write(data);
    io.write(end_stream ? std::string_view("\r\n0\r\n\r\n") : std::string_view("\r\n"));
  } else if (end_stream) {
    io.write("0\r\n\r\n");
  }
}

}  // namespace infergate::gateway
