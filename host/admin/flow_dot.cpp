// Drawing flows. All text a flow file gave goes into Graphviz HTML-like
// labels only, escaped there (HtmlText); every DOT identifier, id and
// port reference is made of IdText's plain characters. So a name cannot
// end a quoted string, open a tag, or reach Graphviz's "\N"-style
// substitutions, whatever bytes it holds.
#include "host/admin/flow_dot.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "host/base/excerpt.h"
#include "host/base/names.h"

namespace tiny::host {
namespace {

// How much of a name a label shows (node names are at most 63 bytes; a
// file path or a module name may be anything).
constexpr size_t kMaxShown = 160;

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence at the start of `s` that
// XML 1.0 allows, or 0 (a stray byte, an overlong form, a surrogate, a
// code point past U+10FFFF, U+FFFE/U+FFFF, or a control character).
size_t XmlCharLength(std::string_view s) {
  auto u = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = u(0);
  if (c < 0x80) return (c >= 0x20 && c != 0x7f) ? 1 : 0;
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (n == 0 || c > 0xf4 || s.size() < n) return 0;
  uint32_t cp = c & (0x7f >> n);
  for (size_t i = 1; i < n; ++i) {
    if ((u(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (u(i) & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff) return 0;
  return n;
}

// `text` as the body of a Graphviz HTML-like label: cut to kMaxShown
// bytes, each byte XML cannot carry as U+FFFD, markup characters as
// entities, and a backslash doubled (Graphviz expands "\N", "\G", ... in
// label text after reading the entities; "\\" is one backslash).
std::string HtmlText(std::string_view text) {
  std::string shown = Excerpt(text, kMaxShown);
  std::string_view s = shown;
  std::string out;
  out.reserve(s.size() + 16);
  while (!s.empty()) {
    size_t n = XmlCharLength(s);
    if (n == 0) {
      out += kReplacement;
      s.remove_prefix(1);
      continue;
    }
    switch (s[0]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out.append(s.substr(0, n));
    }
    s.remove_prefix(n);
  }
  return out;
}

// A declared port a drawing shows: not a system port (`_settings`), not
// a family pattern (`out_*`: its members show up through their edges).
bool Drawn(std::string_view port) { return !port.empty() && port[0] != '_' && port.back() != '*'; }

void AddPort(std::vector<std::string>& ports, std::string_view port) {
  if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.emplace_back(port);
}

size_t PortIndex(const std::vector<std::string>& ports, std::string_view port) {
  return static_cast<size_t>(std::find(ports.begin(), ports.end(), port) - ports.begin());
}

// One box of the drawing: a node of the flows, or a node an edge names
// that no flow holds.
struct Box {
  std::string name;
  std::string subtitle;  // "module/component", or why it is missing
  std::vector<std::string> inputs, outputs;
  bool dashed = false;
  std::string css;  // the class the page styles by: local, remote, missing
};

// A table: input ports left, the name and module/component in the
// middle with the error badge beside it, output ports right. A port
// column shorter than the others stretches its last cell.
std::string BoxLabel(const Box& b) {
  const size_t rows = std::max({b.inputs.size(), b.outputs.size(), size_t{1}});
  const std::string span = rows > 1 ? " ROWSPAN=\"" + std::to_string(rows) + "\"" : "";
  auto port_cell = [&](const std::vector<std::string>& ports, size_t row, char side) -> std::string {
    if (row >= ports.size()) return "";
    std::string stretch =
        row + 1 == ports.size() && rows > ports.size() ? " ROWSPAN=\"" + std::to_string(rows - row) + "\"" : "";
    return "<TD PORT=\"" + std::string(1, side) + std::to_string(row) + "\"" + stretch +
           " BGCOLOR=\"#eef2f7\"><FONT POINT-SIZE=\"9\">" + HtmlText(ports[row]) + "</FONT></TD>";
  };
  std::string out = "<TABLE BORDER=\"1\" CELLBORDER=\"1\" CELLSPACING=\"0\" CELLPADDING=\"4\"";
  out += b.dashed ? " STYLE=\"dashed\" COLOR=\"#888888\">" : ">";
  for (size_t row = 0; row < rows; ++row) {
    out += "<TR>" + port_cell(b.inputs, row, 'i');
    if (row == 0) {
      out += "<TD" + span + "><B>" + HtmlText(b.name) + "</B><BR/><FONT POINT-SIZE=\"9\" COLOR=\"#555555\">" +
             HtmlText(b.subtitle) + "</FONT></TD>";
      // HREF makes Graphviz write the cell's ID as a group the page finds
      // (and a tooltip, which would else be "<TABLE>").
      out +=
          "<TD" + span + " ID=\"badge:" + IdText(b.name) + "\" HREF=\"#\" TOOLTIP=\"errors\" WIDTH=\"24\">&#160;</TD>";
    }
    out += port_cell(b.outputs, row, 'o') + "</TR>";
  }
  return out + "</TABLE>";
}

void WriteBox(std::string& dot, const Box& b, const char* indent) {
  const std::string id = IdText(b.name);
  dot += std::string(indent) + "\"" + id + "\" [id=\"node:" + id + "\", class=\"" + b.css + "\", label=<" +
         BoxLabel(b) + ">];\n";
}

// The boxes of `flows` in file order, then the missing nodes edges name.
class Drawing {
 public:
  Drawing(const FlowSet& flows, const ModuleRegistry* modules) : flows_(flows), modules_(modules) {
    for (const auto& n : flows.nodes) boxes_.emplace(n.name, NodeBox(n));
    for (const auto& n : flows.nodes)
      for (const auto& e : n.edges) Connect(n, e);
  }

  std::string Dot() const {
    std::string dot =
        "digraph flows {\n"
        "  graph [id=\"flows\", rankdir=LR, fontname=\"sans-serif\", fontsize=11, nodesep=0.3, ranksep=0.8];\n"
        "  node [shape=plaintext, margin=0, fontname=\"sans-serif\", fontsize=11];\n"
        "  edge [fontname=\"sans-serif\", fontsize=9, color=\"#4a6785\", arrowsize=0.7];\n";
    std::vector<std::string> files;
    for (const auto& n : flows_.nodes) AddPort(files, n.file);
    for (size_t i = 0; i < files.size(); ++i) {
      dot += "  subgraph cluster_" + std::to_string(i) + " {\n    id=\"flow:" + std::to_string(i) +
             "\"; style=rounded; color=\"#99aabb\";\n    label=<" + HtmlText(files[i]) + ">;\n";
      for (const auto& n : flows_.nodes)
        if (n.file == files[i]) WriteBox(dot, boxes_.at(n.name), "    ");
      dot += "  }\n";
    }
    for (const auto& name : missing_) WriteBox(dot, boxes_.at(name), "  ");
    for (const auto& line : edges_) dot += line;
    return dot + "}\n";
  }

 private:
  Box NodeBox(const NodeSpec& n) const {
    Box b{n.name, n.module + "/" + n.component, {}, {}, false, "local"};
    if (modules_ == nullptr) return b;
    if (const ComponentType* type = modules_->FindComponent(n.module, n.component)) {
      for (uint32_t i = 0; i < type->desc->port_count; ++i) {
        const tiny_port& p = type->desc->ports[i];
        if (Drawn(p.name)) AddPort(p.direction == TINY_PORT_IN ? b.inputs : b.outputs, p.name);
      }
    }
    if (!modules_->Serves(n.module)) {
      b.dashed = true;
      b.css = "remote";
    }
    return b;
  }

  // Draws n.port -> e.to, adding the ports (and a missing target) it names.
  // An address that is not node.port (only a FlowSet no loader checked
  // has one) names no port to draw to, and is left out.
  void Connect(const NodeSpec& n, const EdgeSpec& e) {
    auto address = SplitAddress(e.to);
    if (!address) return;
    std::string target(address->first);
    auto it = boxes_.find(target);
    if (it == boxes_.end()) {
      it = boxes_.emplace(target, Box{target, "not in these flows", {}, {}, true, "missing"}).first;
      missing_.push_back(target);
    }
    Box& from = boxes_.at(n.name);
    AddPort(from.outputs, e.port);
    AddPort(it->second.inputs, address->second);
    std::string id =
        "edge:" + IdText(n.name) + "." + IdText(e.port) + "->" + IdText(target) + "." + IdText(address->second);
    // The same edge written twice is drawn twice; ids stay unique.
    if (int repeat = seen_[id]++; repeat > 0) id += "#" + std::to_string(repeat + 1);
    edges_.push_back("  \"" + IdText(n.name) + "\":\"o" + std::to_string(PortIndex(from.outputs, e.port)) +
                     "\":e -> \"" + IdText(target) + "\":\"i" +
                     std::to_string(PortIndex(it->second.inputs, address->second)) + "\":w [id=\"" + id +
                     "\", label=\" \"];\n");
  }

  const FlowSet& flows_;
  const ModuleRegistry* modules_;
  std::map<std::string, Box> boxes_;
  std::vector<std::string> missing_;  // in the order edges name them
  std::vector<std::string> edges_;    // DOT lines
  std::map<std::string, int> seen_;   // edge id -> times drawn
};

// libgvc keeps global state (its error handler, the parser's, the layout's):
// one render at a time, with one context kept for the process (it loads
// Graphviz's plugins once).
std::mutex g_graphviz_mutex;
std::string* g_graphviz_errors = nullptr;  // guarded by g_graphviz_mutex; set during a render

int CollectGraphvizError(char* message) {
  if (g_graphviz_errors != nullptr && g_graphviz_errors->size() < 512) {
    for (const char* c = message; *c; ++c) *g_graphviz_errors += (*c == '\n' || *c == '\r') ? ' ' : *c;
  }
  return 0;
}

GVC_t* GraphvizContext() {
  static GVC_t* context = gvContext();
  return context;
}

}  // namespace

std::string IdText(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string FlowDot(const FlowSet& flows, const ModuleRegistry* modules) { return Drawing(flows, modules).Dot(); }

Result RenderSvg(const std::string& dot, std::string* svg) {
  if (dot.size() > kMaxDotBytes)
    return Result::Error("graph: the DOT text is " + std::to_string(dot.size()) + " bytes (at most " +
                         std::to_string(kMaxDotBytes) + ")");
  std::lock_guard<std::mutex> lock(g_graphviz_mutex);
  std::string errors;
  g_graphviz_errors = &errors;
  agseterr(AGERR);  // warnings (a font not found) are not failures
  agseterrf(CollectGraphvizError);
  auto fail = [&](const std::string& what) {
    g_graphviz_errors = nullptr;
    while (!errors.empty() && errors.back() == ' ') errors.pop_back();
    return Result::Error("graph: " + what + (errors.empty() ? "" : ": " + errors));
  };
  GVC_t* gvc = GraphvizContext();
  if (gvc == nullptr) return fail("cannot start Graphviz");
  Agraph_t* g = agmemread(dot.c_str());
  if (g == nullptr) return fail("not a DOT graph");
  if (gvLayout(gvc, g, "dot") != 0) {
    agclose(g);
    return fail("layout failed");
  }
  char* data = nullptr;
  unsigned int length = 0;
  std::string out;
  int rendered = gvRenderData(gvc, g, "svg", &data, &length);
  if (rendered == 0 && data != nullptr) out.assign(data, length);
  if (data != nullptr) gvFreeRenderData(data);
  gvFreeLayout(gvc, g);
  agclose(g);
  if (rendered != 0) return fail("SVG rendering failed");
  // Graphviz reports a bad HTML label and draws on, with the label as
  // plain text: for FlowDot's labels that is a bug to see, not a picture.
  if (!errors.empty()) return fail("Graphviz reported errors");
  g_graphviz_errors = nullptr;
  *svg = std::move(out);
  return Result::Ok();
}

}  // namespace tiny::host
