// The module boundaries of DESIGN.md and issue 16, checked on the source tree itself:
//  - no include cycles between files (a header and the files it includes, transitively);
//  - routing/, pools/, config/, metrics/, tls/ never include gateway/;
//  - gateway/http/ holds sans-I/O codecs: no Asio there;
//  - no source file in gateway/ is over 600 lines.
#include <gtest/gtest.h>

#include <filesystem>
#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const fs::path kRoot = INFERGATE_SOURCE_DIR;
const char* const kModules[] = {"config", "routing", "pools", "metrics", "tls", "rollout", "gateway"};

struct Source {
  std::vector<std::string> includes;  // project includes, as written ("gateway/proxy/router.h")
  std::vector<std::string> system;    // <...> includes
  size_t lines = 0;
};

std::map<std::string, Source> read_tree() {
  std::map<std::string, Source> files;
  for (const char* module : kModules) {
    for (const auto& entry : fs::recursive_directory_iterator(kRoot / module)) {
      const fs::path& p = entry.path();
      if (!entry.is_regular_file() || (p.extension() != ".h" && p.extension() != ".cc")) continue;
      Source s;
      std::ifstream in(p);
      std::string line;
      while (std::getline(in, line)) {
        ++s.lines;
        if (!line.starts_with("#include ")) continue;
        const std::string target = line.substr(9);
        if (target.size() > 2 && target.front() == '"') s.includes.push_back(target.substr(1, target.find('"', 1) - 1));
        if (target.size() > 2 && target.front() == '<') s.system.push_back(target.substr(1, target.find('>', 1) - 1));
      }
      files[fs::relative(p, kRoot).generic_string()] = std::move(s);
    }
  }
  return files;
}

// Cycles in a graph of names: each is reported as "a -> b -> ... -> a".
std::vector<std::string> find_cycles(std::map<std::string, std::set<std::string>>& deps) {
  std::map<std::string, int> colour;  // 0 unseen, 1 on the current path, 2 done
  std::vector<std::string> path;
  std::vector<std::string> cycles;
  std::function<void(const std::string&)> visit = [&](const std::string& u) {
    colour[u] = 1;
    path.push_back(u);
    for (const std::string& dep : deps[u]) {
      if (!deps.count(dep)) continue;  // generated, or outside the checked modules
      if (colour[dep] == 1) {
        std::string cycle;
        for (auto p = std::find(path.begin(), path.end(), dep); p != path.end(); ++p) cycle += *p + " -> ";
        cycles.push_back(cycle + dep);
      } else if (colour[dep] == 0) {
        visit(dep);
      }
    }
    path.pop_back();
    colour[u] = 2;
  };
  std::vector<std::string> names;
  for (const auto& [u, _] : deps) names.push_back(u);
  for (const std::string& u : names)
    if (colour[u] == 0) visit(u);
  return cycles;
}

TEST(Layout, NoIncludeCycles) {
  std::map<std::string, std::set<std::string>> deps;
  for (const auto& [f, s] : read_tree()) deps[f].insert(s.includes.begin(), s.includes.end());
  for (const std::string& c : find_cycles(deps)) ADD_FAILURE() << "include cycle: " << c;
}

// In gateway/ a header and its .cc are one unit: worker.cc including server_connection.h while
// server_connection.cc includes worker.h ties the two together as a cycle of files would.
std::string unit_of(const std::string& file) { return file.substr(0, file.rfind('.')); }

TEST(Layout, NoCyclesBetweenGatewayUnits) {
  std::map<std::string, std::set<std::string>> deps;
  for (const auto& [f, s] : read_tree()) {
    if (!f.starts_with("gateway/")) continue;
    auto& out = deps[unit_of(f)];
    for (const std::string& dep : s.includes)
      if (dep.starts_with("gateway/") && unit_of(dep) != unit_of(f)) out.insert(unit_of(dep));
  }
  for (const std::string& c : find_cycles(deps)) ADD_FAILURE() << "cycle between gateway units: " << c;
}

TEST(Layout, LibrariesNeverIncludeGateway) {
  for (const auto& [f, s] : read_tree()) {
    if (f.starts_with("gateway/")) continue;
    for (const std::string& dep : s.includes) EXPECT_FALSE(dep.starts_with("gateway/")) << f << " includes " << dep;
  }
}

TEST(Layout, HttpCodecsHaveNoAsio) {
  for (const auto& [f, s] : read_tree()) {
    if (!f.starts_with("gateway/http/")) continue;
    for (const std::string& dep : s.system) EXPECT_FALSE(dep.starts_with("boost/asio")) << f << " includes " << dep;
  }
}

TEST(Layout, GatewayFilesAtMost600Lines) {
  size_t checked = 0;
  for (const auto& [f, s] : read_tree()) {
    if (!f.starts_with("gateway/")) continue;
    ++checked;
    EXPECT_LE(s.lines, 600u) << f;
  }
  EXPECT_GT(checked, 50u);  // the walk found the tree
}

}  // namespace
