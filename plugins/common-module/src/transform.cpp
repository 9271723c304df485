// transform: emits on `out` exactly what arrived on `in`; the edge mapping
// does the work. Its answer is the downstream answer (a forward).
#include "components.h"

namespace common_module {
namespace {

class Transform final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override { return tiny::Reply::forward("out", msg); }
};

}  // namespace

tiny::ComponentSpec transform_spec() {
  return tiny::ComponentSpec::of<Transform>("transform")
      .describe("Passes each message from in to out; the edge mapping shapes it")
      .in("in", "any JSON")
      .out("out", "the same JSON, for the edge mapping to reshape");
}

}  // namespace common_module
