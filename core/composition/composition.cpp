// Composition XML -> Composition data: structure checks, ${var} substitution,
// <composition> attributes, with file:line on every error.
#include "composition/composition.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <pugixml.hpp>
#include <set>

namespace netloom::core {

std::string Diagnostic::str() const {
  std::string s = loc.file;
  if (loc.line > 0) s += (s.empty() ? "" : ":") + std::to_string(loc.line);
  if (!s.empty()) s += ": ";
  if (!block_id.empty()) s += "block '" + block_id + "': ";
  return s + message;
}

bool is_valid_identifier(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '-'; });
}

namespace {

const char* const kIdentRule = "start with a letter or '_' and contain only letters, digits, '_' and '-'";

class Parser {
 public:
  Parser(const std::string& text, std::string file, const std::map<std::string, std::string>& defines,
         std::vector<Diagnostic>& errors)
      : text_(text), file_(std::move(file)), defines_(defines), errors_(errors) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }

  Composition run() {
    Composition c;
    c.file = file_;
    c.loc = {file_, 0};
    c.name = default_name();

    pugi::xml_document doc;
    pugi::xml_parse_result res =
        doc.load_buffer(text_.data(), text_.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!res) {
      error(line_at(static_cast<std::size_t>(std::max<std::ptrdiff_t>(res.offset, 0))), "",
            std::string("malformed XML: ") + res.description());
      return c;
    }
    pugi::xml_node root;
    for (pugi::xml_node n : doc.children()) {
      if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) {
        error(text_line(n), "", "unexpected text outside <composition>");
      } else if (n.type() != pugi::node_element) {
        continue;
      } else if (!root) {
        root = n;
      } else {
        error(line_of(n), "", "unexpected element <" + std::string(n.name()) + "> after <composition>");
      }
    }
    if (!root) {
      error(0, "", "no <composition> element");
      return c;
    }
    c.loc.line = line_of(root);
    if (std::string_view(root.name()) != "composition") {
      error(c.loc.line, "",
            "the root element must be <composition>, found <" + std::string(root.name()) + ">");
      return c;
    }
    check_attrs(root, {"name", "threads", "batch", "max-in-flight"}, {});

    // Variables first, so that uses anywhere in the file see every declaration.
    for (pugi::xml_node n : root.children("var")) read_var(n, c);
    check_defines();

    if (auto a = root.attribute("name")) c.name = a.value();
    if (auto a = root.attribute("threads")) read_threads(a, c);
    if (auto a = root.attribute("batch"))
      read_count(a, "batch", kMinBatch, kMaxBatch, c.batch_size, c.loc.line);
    if (auto a = root.attribute("max-in-flight"))
      read_count(a, "max-in-flight", kMinInFlight, kMaxInFlight, c.max_in_flight, c.loc.line);

    for (pugi::xml_node n : root.children()) {
      if (n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata) {
        error(text_line(n), "", "unexpected text inside <composition>");
        continue;
      }
      if (n.type() != pugi::node_element) continue;
      std::string_view name = n.name();
      if (name == "var") continue;  // done above
      if (name == "block") {
        read_block(n, c);
      } else if (name == "connect") {
        read_connect(n, c);
      } else {
        error(line_of(n), "",
              "unknown element <" + std::string(name) + "> (expected <var>, <block> or <connect>)");
      }
    }
    return c;
  }

 private:
  // ---- locations and errors ----
  int line_at(std::size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    return static_cast<int>(it - line_starts_.begin());
  }
  int line_of(pugi::xml_node n) const {
    std::ptrdiff_t off = n.offset_debug();
    return off < 0 ? 0 : line_at(static_cast<std::size_t>(off));
  }
  // A text node starts right after the previous tag; point at its first
  // non-blank character instead. Walks the original text: pugixml has
  // turned every lone CR of the node's value into LF, which line_at() does
  // not count (found by fuzzing: a line number past the end of the file).
  int text_line(pugi::xml_node n) const {
    std::ptrdiff_t off = n.offset_debug();
    if (off < 0) return 0;
    std::size_t i = static_cast<std::size_t>(off);
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r'))
      ++i;
    return line_at(i);
  }
  void error(int line, std::string block_id, std::string msg) {
    errors_.push_back({{file_, line}, std::move(block_id), std::move(msg)});
  }
  std::string default_name() const {
    std::string n = file_;
    if (auto s = n.find_last_of('/'); s != std::string::npos) n.erase(0, s + 1);
    if (auto d = n.rfind('.'); d != std::string::npos && d > 0) n.erase(d);
    return n;
  }

  // Reports unknown, repeated and missing attributes; false if a required one is missing.
  bool check_attrs(pugi::xml_node n, std::initializer_list<const char*> allowed,
                   std::initializer_list<const char*> required, const std::string& block_id = {}) {
    int line = line_of(n);
    std::string el = "<" + std::string(n.name()) + ">";
    std::set<std::string> seen;
    for (pugi::xml_attribute a : n.attributes()) {
      std::string an = a.name();
      bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* x) { return an == x; });
      if (!known) {
        std::string list;
        for (const char* x : allowed) list += (list.empty() ? "" : ", ") + std::string(x);
        error(line, block_id,
              "unknown attribute '" + an + "' on " + el +
                  (list.empty() ? " (it takes no attributes)" : " (expected " + list + ")"));
      } else if (!seen.insert(an).second) {
        error(line, block_id, "attribute '" + an + "' given twice on " + el);
      }
    }
    bool ok = true;
    for (const char* r : required) {
      if (!n.attribute(r)) {
        error(line, block_id, el + " is missing the attribute '" + std::string(r) + "'");
        ok = false;
      }
    }
    return ok;
  }

  // Elements that take no children and no text.
  void check_empty(pugi::xml_node n, const std::string& block_id = {}) {
    for (pugi::xml_node ch : n.children()) {
      if (ch.type() == pugi::node_element)
        error(line_of(ch), block_id,
              "unexpected element <" + std::string(ch.name()) + "> inside <" + n.name() + ">");
      else if (ch.type() == pugi::node_pcdata || ch.type() == pugi::node_cdata)
        error(text_line(ch), block_id, "unexpected text inside <" + std::string(n.name()) + ">");
    }
  }

  // ---- variables ----
  void read_var(pugi::xml_node n, Composition& c) {
    int line = line_of(n);
    check_empty(n);
    if (!check_attrs(n, {"name", "default", "doc"}, {"name"})) return;
    VarDecl v;
    v.name = n.attribute("name").value();
    v.loc = {file_, line};
    v.doc = n.attribute("doc").value();
    if (auto d = n.attribute("default")) {
      v.has_default = true;
      v.default_value = d.value();
    }
    if (!is_valid_identifier(v.name)) {
      error(line, "", "invalid variable name '" + v.name + "': names " + kIdentRule);
      return;
    }
    if (auto it = vars_.find(v.name); it != vars_.end()) {
      error(line, "",
            "variable '" + v.name + "' declared twice (first at line " + std::to_string(it->second.loc.line) +
                ")");
      return;
    }
    vars_[v.name] = v;
    c.vars.push_back(std::move(v));
  }

  void check_defines() {
    for (const auto& [name, value] : defines_)
      if (!vars_.count(name)) error(0, "", "unknown variable '" + name + "' given with -D");
  }

  // ${name} -> value, $$ -> $. Reports problems and leaves the text of a
  // reference it cannot resolve in place. `ok` is cleared on error.
  std::string substitute(std::string_view s, int line, const std::string& block_id, bool& ok) {
    std::string out;
    std::set<std::string> reported;
    for (std::size_t i = 0; i < s.size(); ++i) {
      char ch = s[i];
      if (ch != '$') {
        out += ch;
        continue;
      }
      if (i + 1 < s.size() && s[i + 1] == '$') {
        out += '$';
        ++i;
        continue;
      }
      if (i + 1 >= s.size() || s[i + 1] != '{') {
        ok = false;
        if (reported.insert("$").second)
          error(line, block_id, "lone '$' in '" + std::string(s) + "' (write $$ for a literal '$')");
        out += ch;
        continue;
      }
      auto close = s.find('}', i + 2);
      if (close == std::string_view::npos) {
        ok = false;
        error(line, block_id, "unterminated '${' in '" + std::string(s) + "'");
        out.append(s.substr(i));
        break;
      }
      std::string name(s.substr(i + 2, close - i - 2));
      std::string ref(s.substr(i, close - i + 1));
      i = close;
      if (!is_valid_identifier(name)) {
        ok = false;
        error(line, block_id, "invalid variable reference '" + ref + "': names " + kIdentRule);
        out += ref;
        continue;
      }
      auto v = vars_.find(name);
      if (v == vars_.end()) {
        ok = false;
        if (reported.insert(name).second)
          error(line, block_id,
                "undeclared variable '" + name + "' (declare it with <var name=\"" + name + "\"/>)");
        out += ref;
        continue;
      }
      if (auto d = defines_.find(name); d != defines_.end()) {
        out += d->second;
      } else if (v->second.has_default) {
        out += v->second.default_value;
      } else {
        ok = false;
        if (reported.insert(name).second)
          error(line, block_id,
                "variable '" + name + "' has no value: it has no default (declared at line " +
                    std::to_string(v->second.loc.line) + ") and no -D " + name + "=VALUE was given");
        out += ref;
      }
    }
    return out;
  }

  // ---- <composition> attributes ----
  static bool parse_uint(std::string_view s, std::size_t& v) {
    if (s.empty() || s[0] < '0' || s[0] > '9') return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  }

  void read_threads(pugi::xml_attribute a, Composition& c) {
    bool ok = true;
    std::string v = substitute(a.value(), c.loc.line, "", ok);
    if (!ok) return;
    if (v == "auto") {
      c.threads = 0;
      return;
    }
    std::size_t n = 0;
    if (parse_uint(v, n) && n >= 1 && n <= static_cast<std::size_t>(kMaxThreads)) {
      c.threads = static_cast<int>(n);
      return;
    }
    error(c.loc.line, "",
          "threads='" + v + "': expected 'auto' or an integer from 1 to " + std::to_string(kMaxThreads));
  }

  void read_count(pugi::xml_attribute a, const char* what, std::size_t lo, std::size_t hi, std::size_t& dst,
                  int line) {
    bool ok = true;
    std::string v = substitute(a.value(), line, "", ok);
    if (!ok) return;
    std::size_t n = 0;
    if (parse_uint(v, n) && n >= lo && n <= hi) {
      dst = n;
      return;
    }
    error(line, "",
          std::string(what) + "='" + v + "': expected an integer from " + std::to_string(lo) + " to " +
              std::to_string(hi));
  }

  // ---- blocks and connections ----
  void read_block(pugi::xml_node n, Composition& c) {
    BlockDecl b;
    b.loc = {file_, line_of(n)};
    b.id = n.attribute("id").value();
    b.type = n.attribute("type").value();
    if (!check_attrs(n, {"id", "type", "replicas"}, {"id", "type"}, b.id)) return;
    if (auto r = n.attribute("replicas")) {
      bool ok = true;
      b.replicas = substitute(r.value(), b.loc.line, b.id, ok);
    }
    for (pugi::xml_node ch : n.children()) {
      if (ch.type() == pugi::node_pcdata || ch.type() == pugi::node_cdata) {
        error(text_line(ch), b.id, "unexpected text inside <block>");
        continue;
      }
      if (ch.type() != pugi::node_element) continue;
      if (std::string_view(ch.name()) != "param") {
        error(line_of(ch), b.id,
              "unknown element <" + std::string(ch.name()) + "> inside <block> (expected <param>)");
        continue;
      }
      ParamEntry p;
      p.loc = {file_, line_of(ch)};
      check_empty(ch, b.id);
      if (!check_attrs(ch, {"name", "value"}, {"name", "value"}, b.id)) continue;
      p.name = ch.attribute("name").value();
      bool ok = true;
      p.value = substitute(ch.attribute("value").value(), p.loc.line, b.id, ok);
      b.params.push_back(std::move(p));
    }
    c.blocks.push_back(std::move(b));
  }

  // "blk.port" -> {blk, port}; a malformed text is kept whole in `block` with
  // an empty port, which the validator reports.
  static Endpoint split_endpoint(std::string_view s) {
    auto dot = s.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == s.size()) return {std::string(s), ""};
    return {std::string(s.substr(0, dot)), std::string(s.substr(dot + 1))};
  }

  void read_connect(pugi::xml_node n, Composition& c) {
    Connection k;
    k.loc = {file_, line_of(n)};
    check_empty(n);
    if (!check_attrs(n, {"from", "to"}, {"from", "to"})) return;
    k.from = split_endpoint(n.attribute("from").value());
    k.to = split_endpoint(n.attribute("to").value());
    c.connections.push_back(std::move(k));
  }

  const std::string& text_;
  std::string file_;
  const std::map<std::string, std::string>& defines_;
  std::vector<Diagnostic>& errors_;
  std::vector<std::size_t> line_starts_;
  std::map<std::string, VarDecl> vars_;
};

}  // namespace

Composition parse_composition_string(const std::string& xml, const std::string& file_name_for_errors,
                                     const std::map<std::string, std::string>& defines,
                                     std::vector<Diagnostic>& errors) {
  return Parser(xml, file_name_for_errors, defines, errors).run();
}

Composition parse_composition_file(const std::string& path, const std::map<std::string, std::string>& defines,
                                   std::vector<Diagnostic>& errors) {
  auto cannot_open = [&](int err) {
    Diagnostic d;
    d.loc.file = path;
    d.message = std::string("cannot open composition file: ") + std::strerror(err);
    errors.push_back(std::move(d));
    Composition c;
    c.file = path;
    c.loc = {path, 0};
    return c;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot_open(errno);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return cannot_open(err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return parse_composition_string(text, path, defines, errors);
}

}  // namespace netloom::core
