// The path normalizer (routing/path_normalization.h) against RFC 3986 section 5.4's examples,
// the cases of Envoy's path_utility tests (read there, written anew), the seven paths of the
// /admin bypass report under every setting, and two properties over generated paths: a result
// normalizes to itself, and no accepted result of a normalizing setting has a dot segment.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "routing/path_normalization.h"

namespace infergate::routing {
namespace {

using Mode = config::PathNormalizationMode;
using Slashes = config::EscapedSlashesAction;

config::PathNormalization settings(Mode m, Slashes s = Slashes::KeepUnchanged) {
  config::PathNormalization pn;
  pn.normalization = m;
  pn.escaped_slashes = m == Mode::DecodeAndMergeSlashes ? Slashes::UnescapeAndForward : s;
  return pn;
}

// What normalize_path makes of `target`: the new target, or "!" and the error's name when it
// refuses it, or "307 " and the target for a redirect.
std::string outcome(std::string target, const config::PathNormalization& pn) {
  const PathResult r = normalize_path(target, pn);
  if (r.action == PathAction::Reject) return "!" + std::string(path_error_name(r.error));
  EXPECT_EQ(r.error, PathError::None);
  return r.action == PathAction::Redirect ? "307 " + target : target;
}

// ---- RFC 3986 5.4: a reference resolved against http://a/b/c/d;p?q ----------------------

struct RfcCase {
  const char* reference;  // a path-only reference
  const char* resolved;   // the path of the RFC's result
  bool climbs;            // an abnormal example that reaches above the root
};

// 5.2.2 and 5.2.3: a relative path is merged with the base path up to its last "/".
std::string merged(std::string_view reference) {
  return reference.starts_with("/") ? std::string(reference) : "/b/c/" + std::string(reference);
}

const RfcCase kRfc[] = {
    // 5.4.1 normal examples
    {"g", "/b/c/g", false}, {"./g", "/b/c/g", false}, {"g/", "/b/c/g/", false}, {"/g", "/g", false},
    {";x", "/b/c/;x", false}, {"g;x", "/b/c/g;x", false}, {".", "/b/c/", false}, {"./", "/b/c/", false},
    {"..", "/b/", false}, {"../", "/b/", false}, {"../g", "/b/g", false}, {"../..", "/", false},
    {"../../", "/", false}, {"../../g", "/g", false},
    // 5.4.2 abnormal examples
    {"../../../g", "/g", true}, {"../../../../g", "/g", true}, {"/./g", "/g", false}, {"/../g", "/g", true},
    {"g.", "/b/c/g.", false}, {".g", "/b/c/.g", false}, {"g..", "/b/c/g..", false}, {"..g", "/b/c/..g", false},
    {"./../g", "/b/g", false}, {"./g/.", "/b/c/g/", false}, {"g/./h", "/b/c/g/h", false},
    {"g/../h", "/b/c/h", false}, {"g;x=1/./y", "/b/c/g;x=1/y", false}, {"g;x=1/../y", "/b/c/y", false},
};

TEST(RemoveDotSegments, Rfc3986Section54Examples) {
  for (const RfcCase& c : kRfc) {
    bool climbed = false;
    EXPECT_EQ(remove_dot_segments(merged(c.reference), &climbed), c.resolved) << c.reference;
    EXPECT_EQ(climbed, c.climbs) << c.reference;
  }
}

TEST(RemoveDotSegments, Rfc3986Section524Walkthroughs) {
  // The two examples the algorithm's own section steps through.
  EXPECT_EQ(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(remove_dot_segments("mid/content=5/../6"), "mid/6");
  bool climbed = false;
  EXPECT_EQ(remove_dot_segments("../a", &climbed), "a");
  EXPECT_TRUE(climbed);
}

// The gateway's normalizer agrees with the RFC on every example, except that it refuses the
// ones that climb above the root instead of stopping there.
TEST(PathNormalization, BaseAgreesWithRfc3986OnItsExamples) {
  for (const RfcCase& c : kRfc) {
    const std::string want = c.climbs ? "!above_root" : c.resolved;
    EXPECT_EQ(outcome(merged(c.reference), settings(Mode::Base)), want) << c.reference;
  }
}

// ---- One table, four settings ------------------------------------------------------------

struct Row {
  std::string_view in;
  const char* none;
  const char* base;
  const char* merge;   // MERGE_SLASHES
  const char* decode;  // DECODE_AND_MERGE_SLASHES
};

const Row kTable[] = {
    // The seven paths that walked past a DENY on /admin, then the four it did refuse.
    {"/./admin", "/./admin", "/admin", "/admin", "/admin"},
    {"/x/../admin", "/x/../admin", "/admin", "/admin", "/admin"},
    {"/%61dmin", "/%61dmin", "/admin", "/admin", "/admin"},
    {"/%2e/admin", "/%2e/admin", "/admin", "/admin", "/admin"},
    {"//admin", "//admin", "//admin", "/admin", "/admin"},
    {"/admin%2Fx", "/admin%2Fx", "/admin%2Fx", "/admin%2Fx", "/admin/x"},
    {"/admin;x", "/admin;x", "/admin;x", "/admin;x", "/admin;x"},  // no setting strips parameters
    {"/admin", "/admin", "/admin", "/admin", "/admin"},
    {"/admin/x", "/admin/x", "/admin/x", "/admin/x", "/admin/x"},
    {"/admin/", "/admin/", "/admin/", "/admin/", "/admin/"},
    {"/admin?x=1", "/admin?x=1", "/admin?x=1", "/admin?x=1", "/admin?x=1"},
    // Envoy's path_utility cases: already normal, parent and current directories, a path
    // without its leading "/", backslashes, encoded dots, case kept.
    {"/xyz", "/xyz", "/xyz", "/xyz", "/xyz"},
    {"/x/y/z", "/x/y/z", "/x/y/z", "/x/y/z", "/x/y/z"},
    {"/a/b/../c", "/a/b/../c", "/a/c", "/a/c", "/a/c"},
    {"/a/b/./c", "/a/b/./c", "/a/b/c", "/a/b/c", "/a/b/c"},
    {"a/b/../c", "a/b/../c", "/a/c", "/a/c", "/a/c"},
    {"/a/..\\c", "/a/..\\c", "/c", "/c", "/c"},
    {"/a/b/%2E%2E/c", "/a/b/%2E%2E/c", "/a/c", "/a/c", "/a/c"},
    {"/a/b/%2e%2e/c", "/a/b/%2e%2e/c", "/a/c", "/a/c", "/a/c"},
    {"/a/b/%2E./c", "/a/b/%2E./c", "/a/c", "/a/c", "/a/c"},
    {"/a/b/%2E/c", "/a/b/%2E/c", "/a/b/c", "/a/b/c", "/a/b/c"},
    {"/./a/b", "/./a/b", "/a/b", "/a/b", "/a/b"},
    {"/A/B/C", "/A/B/C", "/A/B/C", "/A/B/C", "/A/B/C"},
    // Envoy keeps these escapes as sent; RFC 3986 6.2.2.1 (which the issue asks for) writes
    // what stays encoded in upper-case hex.
    {"/%c0%af", "/%c0%af", "/%C0%AF", "/%C0%AF", "/%C0%AF"},
    {"/%5c%25", "/%5c%25", "/%5C%25", "/%5C%25", "/%25"},
    {"/a/%2F%2f/c", "/a/%2F%2f/c", "/a/%2F%2F/c", "/a/%2F%2F/c", "/a/c"},
    // Envoy's invalid paths: NUL hidden in a dot segment, a broken escape.
    {"/xyz/.%00../abc", "/xyz/.%00../abc", "!nul", "!nul", "!nul"},
    {"/xyz/%00.%00./abc", "/xyz/%00.%00./abc", "!nul", "!nul", "!nul"},
    {"/xyz/AAAAA%%0000/abc", "/xyz/AAAAA%%0000/abc", "!bad_escape", "!bad_escape", "!bad_escape"},
    // Envoy's merge_slashes cases (the query is never touched).
    {"/a//b/c/", "/a//b/c/", "/a//b/c/", "/a/b/c/", "/a/b/c/"},
    {"//a/b/c", "//a/b/c", "//a/b/c", "/a/b/c", "/a/b/c"},
    {"/a/b/c//", "/a/b/c//", "/a/b/c//", "/a/b/c/", "/a/b/c/"},
    {"/a///b/c", "/a///b/c", "/a///b/c", "/a/b/c", "/a/b/c"},
    {"/a////b/c", "/a////b/c", "/a////b/c", "/a/b/c", "/a/b/c"},
    {"/a//b?a=///c", "/a//b?a=///c", "/a//b?a=///c", "/a/b?a=///c", "/a/b?a=///c"},
    {"/a//b?", "/a//b?", "/a//b?", "/a/b?", "/a/b?"},
    {"//a/?b", "//a/?b", "//a/?b", "/a/?b", "/a/?b"},
    // Envoy refuses a fragment in :path.
    {"/abc#fragment", "!fragment", "!fragment", "!fragment", "!fragment"},
    {"/abc?param=value#", "!fragment", "!fragment", "!fragment", "!fragment"},
    // Above the root: Envoy stops there ("/a/b/../../../../c" is "/c" to it); the gateway refuses.
    {"/../a/b", "/../a/b", "!above_root", "!above_root", "!above_root"},
    {"/a/b/../../../../c", "/a/b/../../../../c", "!above_root", "!above_root", "!above_root"},
    {"/%2e%2e/admin", "/%2e%2e/admin", "!above_root", "!above_root", "!above_root"},
    {"/..", "/..", "!above_root", "!above_root", "!above_root"},
    {"/a%2F..%2F..%2Fadmin", "/a%2F..%2F..%2Fadmin", "/a%2F..%2F..%2Fadmin", "/a%2F..%2F..%2Fadmin",
     "!above_root"},
    // Decoding: unreserved characters only; everything else stays encoded.
    {"/%41%42%7e%2D%5f%30", "/%41%42%7e%2D%5f%30", "/AB~-_0", "/AB~-_0", "/AB~-_0"},
    {"/a%20b%3f%23%25", "/a%20b%3f%23%25", "/a%20b%3F%23%25", "/a%20b%3F%23%25", "/a%20b%3F%23%25"},
    {"/%252e%252e/admin", "/%252e%252e/admin", "/%252e%252e/admin", "/%252e%252e/admin", "/%252e%252e/admin"},
    {"/a%2", "/a%2", "!bad_escape", "!bad_escape", "!bad_escape"},
    {"/a%zz", "/a%zz", "!bad_escape", "!bad_escape", "!bad_escape"},
    {"/a%", "/a%", "!bad_escape", "!bad_escape", "!bad_escape"},
    // Bytes no path may hold are encoded (the WHATWG path percent-encode set).
    {"/a b", "/a b", "/a%20b", "/a%20b", "/a%20b"},
    {"/\"<>`{}", "/\"<>`{}", "/%22%3C%3E%60%7B%7D", "/%22%3C%3E%60%7B%7D", "/%22%3C%3E%60%7B%7D"},
    {"/caf\xc3\xa9", "/caf\xc3\xa9", "/caf%C3%A9", "/caf%C3%A9", "/caf%C3%A9"},
    // Raw control characters and NUL: the codecs refuse them already; never forwarded.
    {std::string_view("/a\0b", 4), "!nul", "!nul", "!nul", "!nul"},
    {"/a\x01z", "!control_character", "!control_character", "!control_character", "!control_character"},
    {"/a\x7fz", "!control_character", "!control_character", "!control_character", "!control_character"},
    // Dot look-alikes that are not dot segments.
    {"/a/.b/..c/...", "/a/.b/..c/...", "/a/.b/..c/...", "/a/.b/..c/...", "/a/.b/..c/..."},
    {"/a/b/..", "/a/b/..", "/a/", "/a/", "/a/"},
    {"/a/b/.", "/a/b/.", "/a/b/", "/a/b/", "/a/b/"},
    {"/a//../b", "/a//../b", "/a/b", "/a/b", "/a/b"},
    {"/a\\\\b", "/a\\\\b", "/a//b", "/a/b", "/a/b"},
    {"/v1/chat/completions", "/v1/chat/completions", "/v1/chat/completions", "/v1/chat/completions",
     "/v1/chat/completions"},
    {"/v1/../v1/models?x=/../y", "/v1/../v1/models?x=/../y", "/v1/models?x=/../y", "/v1/models?x=/../y",
     "/v1/models?x=/../y"},
    {"/?q=%zz", "/?q=%zz", "/?q=%zz", "/?q=%zz", "/?q=%zz"},  // the query is not checked or changed
    {"/", "/", "/", "/", "/"},
};

TEST(PathNormalization, TableUnderEverySetting) {
  static_assert(std::size(kTable) >= 60, "the issue asks for at least 60 paths");
  for (const Row& row : kTable) {
    const std::string in(row.in);
    EXPECT_EQ(outcome(in, settings(Mode::None)), row.none) << "NONE " << row.in;
    EXPECT_EQ(outcome(in, settings(Mode::Base)), row.base) << "BASE " << row.in;
    EXPECT_EQ(outcome(in, settings(Mode::MergeSlashes)), row.merge) << "MERGE_SLASHES " << row.in;
    EXPECT_EQ(outcome(in, settings(Mode::DecodeAndMergeSlashes)), row.decode) << "DECODE_AND_MERGE_SLASHES " << row.in;
  }
}

TEST(PathNormalization, EscapedSlashActionsApplyToWhatTheSettingDoesNotDecode) {
  for (Mode m : {Mode::None, Mode::Base, Mode::MergeSlashes}) {
    EXPECT_EQ(outcome("/admin%2Fx?a=%2F", settings(m, Slashes::KeepUnchanged)), "/admin%2Fx?a=%2F");
    EXPECT_EQ(outcome("/admin%2Fx?a=%2F", settings(m, Slashes::RejectRequest)), "!escaped_slash");
    EXPECT_EQ(outcome("/admin%2Fx?a=%2F", settings(m, Slashes::UnescapeAndRedirect)), "307 /admin/x?a=%2F");
    EXPECT_EQ(outcome("/admin%2Fx?a=%2F", settings(m, Slashes::UnescapeAndForward)), "/admin/x?a=%2F");
    // %5C is a backslash: the normalizing settings read it as "/", NONE forwards it as is.
    EXPECT_EQ(outcome("/a%5cb", settings(m, Slashes::UnescapeAndForward)), m == Mode::None ? "/a\\b" : "/a/b");
    // Without an escaped slash nothing is redirected or refused.
    EXPECT_EQ(outcome("/a/b", settings(m, Slashes::RejectRequest)), "/a/b");
    EXPECT_EQ(outcome("/a/b", settings(m, Slashes::UnescapeAndRedirect)), "/a/b");
  }
  // Decoded before the dot segments go (as Envoy orders it): the path really climbs.
  EXPECT_EQ(outcome("/a%2F..%2Fb", settings(Mode::Base, Slashes::UnescapeAndForward)), "/b");
  EXPECT_EQ(outcome("/a%2F..%2Fb", settings(Mode::Base, Slashes::UnescapeAndRedirect)), "307 /b");
  // A refused path stays refused whatever the action.
  EXPECT_EQ(outcome("/%2F..%2F..%2Fadmin", settings(Mode::Base, Slashes::UnescapeAndRedirect)), "!above_root");
  // DECODE_AND_MERGE_SLASHES decodes and forwards, whatever else `escaped_slashes` holds.
  config::PathNormalization pn = settings(Mode::DecodeAndMergeSlashes);
  pn.escaped_slashes = Slashes::RejectRequest;
  EXPECT_EQ(outcome("/admin%2Fx", pn), "/admin/x");
}

TEST(PathNormalization, CleanPathsAreLeftAloneAndReportedUnchanged) {
  for (const char* p : {"/v1/chat/completions", "/a/b?c=/../d", "/a/.b", "/a/b?c=//d"}) {
    std::string t = p;
    EXPECT_FALSE(normalize_path(t, settings(Mode::MergeSlashes)).changed) << p;
    EXPECT_EQ(t, p);
  }
  std::string t = "/a/./b?q";
  EXPECT_TRUE(normalize_path(t, settings(Mode::Base)).changed);
  EXPECT_EQ(t, "/a/b?q");
  // A refused target is left as it came (the access log shows what was sent).
  t = "/../x?q";
  EXPECT_EQ(normalize_path(t, settings(Mode::Base)).action, PathAction::Reject);
  EXPECT_EQ(t, "/../x?q");
}

// ---- Properties over generated paths ------------------------------------------------------

std::string generated_path(std::mt19937& rng) {
  static const std::vector<std::string> kPieces = {
      "/", "/", "/", "a", "b", ".", "..", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "\\", "%41", "%25", "%",
      "%0", "%zz", ";", "//", " ", "\xc3\xa9", "~", "%7e", "?", "=", "%00", "#", "%3F", "%2e%2e", "-"};
  std::uniform_int_distribution<size_t> count(0, 12), pick(0, kPieces.size() - 1);
  std::string p = rng() % 8 ? "/" : "";
  for (size_t n = count(rng); n > 0; --n) p += kPieces[pick(rng)];
  return p;
}

TEST(PathNormalization, NormalizingTwiceIsNormalizingOnceAndLeavesNoDotSegment) {
  std::mt19937 rng(20261207);
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string in = generated_path(rng);
    for (Mode m : {Mode::None, Mode::Base, Mode::MergeSlashes, Mode::DecodeAndMergeSlashes}) {
      for (Slashes s : {Slashes::KeepUnchanged, Slashes::RejectRequest, Slashes::UnescapeAndRedirect,
                        Slashes::UnescapeAndForward}) {
        const config::PathNormalization pn = settings(m, s);
        std::string once = in;
        const PathResult first = normalize_path(once, pn);
        if (first.action == PathAction::Reject) {
          EXPECT_EQ(once, in);
          continue;
        }
        ++accepted;
        std::string twice = once;
        const PathResult second = normalize_path(twice, pn);
        EXPECT_EQ(second.action, PathAction::Forward) << in << " -> " << once;
        EXPECT_FALSE(second.changed) << in << " -> " << once << " -> " << twice;
        EXPECT_EQ(twice, once) << in;
        if (m == Mode::None) continue;
        const std::string_view path = std::string_view(once).substr(0, once.find('?'));
        EXPECT_TRUE(path.starts_with("/")) << in << " -> " << once;
        EXPECT_FALSE(has_dot_segment(once)) << in << " -> " << once;
        // No encoded dot is left to become a dot segment at the server either.
        EXPECT_EQ(path.find("%2E"), std::string_view::npos) << in << " -> " << once;
        EXPECT_EQ(path.find("%2e"), std::string_view::npos) << in << " -> " << once;
        if (m != Mode::Base) {
          EXPECT_EQ(path.find("//"), std::string_view::npos) << in << " -> " << once;
        }
      }
    }
  }
  EXPECT_GT(accepted, 20000u);  // the generator does reach accepted paths
}

TEST(PathNormalization, BaseIsRemoveDotSegmentsOnPlainPaths) {
  std::mt19937 rng(7);
  const char kAlphabet[] = {'/', '/', '.', '.', 'a', 'b'};
  for (int i = 0; i < 20000; ++i) {
    std::string p = "/";
    for (size_t n = rng() % 14; n > 0; --n) p += kAlphabet[rng() % sizeof(kAlphabet)];
    bool climbed = false;
    const std::string rfc = remove_dot_segments(p, &climbed);
    EXPECT_EQ(outcome(p, settings(Mode::Base)), climbed ? "!above_root" : rfc) << p;
  }
}

TEST(PathNormalization, HasDotSegment) {
  EXPECT_TRUE(has_dot_segment("/a/./b"));
  EXPECT_TRUE(has_dot_segment("/a/.."));
  EXPECT_TRUE(has_dot_segment(".."));
  EXPECT_FALSE(has_dot_segment("/a/.b/c../..."));
  EXPECT_FALSE(has_dot_segment("/a?x=/../"));
}

}  // namespace
}  // namespace infergate::routing
