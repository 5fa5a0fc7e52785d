// Who may use the admin API: bearer tokens from a file that rotates without a restart, and
// the SPIFFE principals allowed over mTLS. Token comparison is constant time: every
// configured token is compared, over SHA-256 digests, so neither a token's length nor how
// much of it matched shows in the answer's timing.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace infergate::gateway {

struct AdminToken {
  std::string name;                  // for audit lines; never the token
  std::array<unsigned char, 32> digest;  // SHA-256 of the token
};

struct TokenFileContents {
  std::vector<AdminToken> tokens;
  std::string error;  // "" when the text is a valid token file
};

// One token per line: "name:token" or a bare token (named "line N"). Blank lines and lines
// starting with '#' are skipped, surrounding whitespace is trimmed. A token is at least 16
// characters of visible ASCII without spaces; names are unique. Any violation makes the
// whole file invalid (error names the line; the token itself is never quoted).
TokenFileContents parse_token_file(std::string_view text);

// The name of the token `presented` equals, nullopt when none does.
std::optional<std::string> match_token(const std::vector<AdminToken>& tokens, std::string_view presented);

// "Bearer <token>" (scheme case-insensitive) -> the token; nullopt for anything else.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// The token file of spec.admin.auth.tokenFile, re-read whenever it changes (inode, size or
// modification time): replacing the file rotates the tokens, the next request sees it. An
// unreadable or invalid file accepts no token at all (fail closed) until it is fixed.
class TokenFile {
 public:
  explicit TokenFile(std::string path) : path_(std::move(path)) {}
  // Reads the file now; false with *error when it is missing or invalid (refuse to start).
  bool load(std::string* error);
  // The name of the matching token, after re-reading a changed file.
  std::optional<std::string> check(std::string_view presented);
  // Reads that found the file unreadable or invalid (each change counted once).
  uint64_t failed_reloads() const { return failed_reloads_; }
  const std::string& path() const { return path_; }

 private:
  struct Stamp {
    ino_t inode = 0;
    off_t size = -1;
    int64_t mtime_ns = -1;
    int64_t ctime_ns = -1;
    bool operator==(const Stamp&) const = default;
  };
  std::optional<Stamp> stamp() const;
  void reload_if_changed();

  std::string path_;
  std::optional<Stamp> seen_;
  std::vector<AdminToken> tokens_;
  uint64_t failed_reloads_ = 0;
};

// Whether `principal` ("td/ns/x/sa/y", from the verified client certificate) is allowed.
bool principal_allowed(const std::vector<std::string>& allowed, std::string_view principal);

}  // namespace infergate::gateway
