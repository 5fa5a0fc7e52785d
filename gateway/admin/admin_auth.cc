#include "gateway/admin/admin_auth.h"

#include "gateway/admin/admin_input.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <spdlog/spdlog.h>
#include <sstream>

namespace infergate::gateway {

namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

bool valid_token(std::string_view t) {
  if (t.size() < 16) return false;
  return std::all_of(t.begin(), t.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool valid_name(std::string_view n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '@';
  });
}

}  // namespace

TokenFileContents parse_token_file(std::string_view text) {
  TokenFileContents out;
  std::set<std::string> names;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    std::string name = "line " + std::to_string(line_no);
    std::string_view token = line;
    if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
      name = std::string(trim(line.substr(0, colon)));
      token = trim(line.substr(colon + 1));
      if (!valid_name(name)) {
        out.error = "line " + std::to_string(line_no) + ": the token name must be letters, digits, '-', '_', '.' or '@'";
        break;
      }
    }
    if (!valid_token(token)) {
      out.error = "line " + std::to_string(line_no) +
                  ": a token must be at least 16 printable characters without spaces (e.g. openssl rand -hex 32)";
      break;
    }
    if (!names.insert(name).second) {
      out.error = "line " + std::to_string(line_no) + ": token name \"" + name + "\" is used twice";
      break;
    }
    out.tokens.push_back(AdminToken{std::move(name), sha256(token)});
  }
  if (out.error.empty() && out.tokens.empty()) out.error = "holds no token";
  if (!out.error.empty()) out.tokens.clear();
  return out;
}

std::optional<std::string> match_token(const std::vector<AdminToken>& tokens, std::string_view presented) {
  const auto digest = sha256(presented);
  const AdminToken* found = nullptr;
  for (const auto& t : tokens)  // no early exit: every token costs the same
    if (CRYPTO_memcmp(t.digest.data(), digest.data(), digest.size()) == 0 && !found) found = &t;
  if (!found) return std::nullopt;
  return found->name;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  if (authorization.size() < 7) return std::nullopt;
  std::string scheme(authorization.substr(0, 7));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "bearer ") return std::nullopt;
  std::string_view token = trim(authorization.substr(7));
  if (token.empty()) return std::nullopt;
  return token;
}

std::optional<TokenFile::Stamp> TokenFile::stamp() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return std::nullopt;
  return Stamp{st.st_ino, st.st_size, st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec,
               st.st_ctim.tv_sec * 1'000'000'000ll + st.st_ctim.tv_nsec};
}

bool TokenFile::load(std::string* error) {
  seen_ = stamp();
  std::ifstream in(path_, std::ios::binary);
  if (!seen_ || !in) {
    tokens_.clear();
    *error = "admin token file " + path_ + " cannot be read";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  TokenFileContents c = parse_token_file(ss.str());
  tokens_ = std::move(c.tokens);
  if (!c.error.empty()) {
    *error = "admin token file " + path_ + ": " + c.error;
    return false;
  }
  return true;
}

void TokenFile::reload_if_changed() {
  const auto now = stamp();
  if (now && seen_ && *now == *seen_) return;
  if (!now && !seen_) return;  // still missing: counted when it went away
  std::string error;
  if (load(&error)) {
    spdlog::info("admin: token file {} re-read: {} token(s)", path_, tokens_.size());
  } else {
    ++failed_reloads_;
    spdlog::error("admin: {}; no admin token is accepted until it is fixed", error);
  }
}

std::optional<std::string> TokenFile::check(std::string_view presented) {
  reload_if_changed();
  return match_token(tokens_, presented);
}

bool principal_allowed(const std::vector<std::string>& allowed, std::string_view principal) {
  if (principal.empty()) return false;
  return std::find(allowed.begin(), allowed.end(), principal) != allowed.end();
}

}  // namespace infergate::gateway
