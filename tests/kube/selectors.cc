#include "tests/kube/selectors.h"

#include <algorithm>

namespace infergate::testing::kube {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// Commas inside "in (a,b)" do not separate requirements.
std::vector<std::string> split_top(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty() || !out.empty()) out.push_back(trim(cur));
  return out;
}

std::vector<std::string> split_values(const std::string& inner) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= inner.size()) {
    const auto comma = inner.find(',', start);
    const auto end = comma == std::string::npos ? inner.size() : comma;
    out.push_back(trim(inner.substr(start, end - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool valid_key(const std::string& k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
  });
}

const nlohmann::json* lookup(const nlohmann::json& obj, const std::string& path) {
  const nlohmann::json* cur = &obj;
  size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

}  // namespace

Selector Selector::labels(const std::string& text) {
  Selector s;
  for (const auto& part : split_top(text)) {
    if (part.empty()) throw SelectorError("empty requirement in label selector \"" + text + "\"");
    Req r;
    if (part[0] == '!') {
      r = {trim(part.substr(1)), Op::kNotExists, {}};
    } else if (auto p = part.find("!="); p != std::string::npos) {
      r = {trim(part.substr(0, p)), Op::kNe, {trim(part.substr(p + 2))}};
    } else if (auto p2 = part.find("=="); p2 != std::string::npos) {
      r = {trim(part.substr(0, p2)), Op::kEq, {trim(part.substr(p2 + 2))}};
    } else if (auto p3 = part.find('='); p3 != std::string::npos) {
      r = {trim(part.substr(0, p3)), Op::kEq, {trim(part.substr(p3 + 1))}};
    } else if (auto open = part.find('('); open != std::string::npos) {
      const auto close = part.rfind(')');
      if (close == std::string::npos || close < open) throw SelectorError("unbalanced parenthesis in \"" + part + "\"");
      const std::string head = trim(part.substr(0, open));
      const auto sp = head.find_last_of(" \t");
      if (sp == std::string::npos) throw SelectorError("expected in or notin in \"" + part + "\"");
      const std::string op = head.substr(sp + 1);
      if (op != "in" && op != "notin") throw SelectorError("unknown operator \"" + op + "\"");
      r = {trim(head.substr(0, sp)), op == "in" ? Op::kIn : Op::kNotIn,
           split_values(part.substr(open + 1, close - open - 1))};
    } else {
      r = {part, Op::kExists, {}};
    }
    if (!valid_key(r.key)) throw SelectorError("invalid label key \"" + r.key + "\"");
    s.reqs_.push_back(std::move(r));
  }
  return s;
}

Selector Selector::fields(const std::string& text) {
  Selector s;
  s.fields_ = true;
  for (const auto& part : split_top(text)) {
    Req r;
    if (auto p = part.find("!="); p != std::string::npos) {
      r = {trim(part.substr(0, p)), Op::kNe, {trim(part.substr(p + 2))}};
    } else if (auto p2 = part.find("=="); p2 != std::string::npos) {
      r = {trim(part.substr(0, p2)), Op::kEq, {trim(part.substr(p2 + 2))}};
    } else if (auto p3 = part.find('='); p3 != std::string::npos) {
      r = {trim(part.substr(0, p3)), Op::kEq, {trim(part.substr(p3 + 1))}};
    } else {
      throw SelectorError("invalid field selector \"" + part + "\"");
    }
    if (!valid_key(r.key)) throw SelectorError("invalid field \"" + r.key + "\"");
    s.reqs_.push_back(std::move(r));
  }
  return s;
}

bool Selector::matches(const nlohmann::json& object) const {
  for (const auto& r : reqs_) {
    const nlohmann::json* v = nullptr;
    if (fields_) {
      v = lookup(object, r.key);
    } else {
      const nlohmann::json* labels = lookup(object, "metadata.labels");
      if (labels != nullptr && labels->is_object()) {
        auto it = labels->find(r.key);
        if (it != labels->end()) v = &*it;
      }
    }
    // An absent field compares as "" (the real server's field sets hold every supported
    // field, empty ones as "").
    const bool present = v != nullptr;
    const std::string value = present && v->is_string() ? v->get<std::string>() : (present ? v->dump() : "");
    const auto in = [&] { return std::find(r.values.begin(), r.values.end(), value) != r.values.end(); };
    switch (r.op) {
      case Op::kEq:
        if (!(present || fields_) || value != r.values[0]) return false;
        break;
      case Op::kNe:
        if ((present || fields_) && value == r.values[0]) return false;
        break;
      case Op::kIn:
        if (!present || !in()) return false;
        break;
      case Op::kNotIn:
        if (present && in()) return false;
        break;
      case Op::kExists:
        if (!present) return false;
        break;
      case Op::kNotExists:
        if (present) return false;
        break;
    }
  }
  return true;
}

}  // namespace infergate::testing::kube
