// array_split: emits one {context, item, index, total} on `out` per item
// of `array`, in order, each after the previous one was answered (so the
// items are processed in order even across hosts). The first failing item
// stops the split and its failure is the answer; otherwise the answer is
// the last non-empty item answer (with a collect downstream: the collected
// result).
#include <memory>
#include <mutex>
#include <optional>

#include "components.h"
#include "emit_gate.h"

namespace common_module {
namespace {

// One split in progress. Emits of one job never overlap: item i+1 leaves
// only once item i was answered.
struct SplitJob {
  std::mutex mu;  // guards everything below
  tiny::Call call;
  tiny::Json context;
  tiny::Json items;  // the array
  size_t next = 0;   // index of the next item to emit
  bool pumping = false;   // a thread is inside the emit loop
  bool answered = false;  // the current item answered while that thread emitted it
  std::optional<tiny::Result> failure;
  std::string last_answer;  // last non-empty item answer
};

class ArraySplit final : public tiny::Component {
 public:
  tiny::Reply on_message(tiny::Message& msg) override {
    // An owned parse, not msg.json(): the items move into the job.
    tiny::Json body = tiny::Json::parse(msg.data(), nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) return tiny::Reply::error("in expects an object {context, array}");
    auto array = body.find("array");
    if (array == body.end() || !array->is_array()) return tiny::Reply::error("array must be an array");
    if (array->empty()) return tiny::Reply::empty();
    auto job = std::make_shared<SplitJob>();
    job->context = body.value("context", tiny::Json());
    job->items = std::move(*array);
    job->call = msg.defer();
    step(job, std::nullopt);
    return tiny::Reply::deferred();
  }

  void on_destroy() override { gate_.close(); }

 private:
  // Records `answer` (of the item in flight) and emits the next item, or
  // completes the call. Iterative, not recursive: an answer that arrives
  // inside emit only flags the emitting thread to go on, so a long array
  // answered synchronously never deepens the stack.
  void step(const std::shared_ptr<SplitJob>& job, std::optional<tiny::Result> answer) {
    std::unique_lock<std::mutex> lock(job->mu);
    if (answer) {
      if (!answer->ok())
        job->failure = std::move(*answer);
      else if (!answer->data.empty())
        job->last_answer = std::move(answer->data);
      if (job->pumping) {
        job->answered = true;
        return;
      }
    }
    job->pumping = true;
    while (true) {
      if (job->failure || job->next == job->items.size()) {
        tiny::Result result = job->failure ? *job->failure : tiny::Result::raw(std::move(job->last_answer));
        job->pumping = false;
        lock.unlock();
        job->call.complete(result);  // the first failure, or the last answer
        return;
      }
      size_t index = job->next++;
      tiny::Json out = {{"context", job->context},
                        {"item", std::move(job->items[index])},
                        {"index", index},
                        {"total", job->items.size()}};
      job->answered = false;
      lock.unlock();
      bool live = gate_.enter();
      if (live) {
        emit("out", out, [this, job](tiny::Result r) { step(job, std::move(r)); }, job->call.handle());
        gate_.leave();
      }
      lock.lock();
      if (!live) {
        job->failure = tiny::Result::failure("node destroyed during the split");
        continue;
      }
      if (!job->answered) {  // the answer comes later, on another thread
        job->pumping = false;
        return;
      }
    }
  }

  EmitGate gate_;
};

}  // namespace

tiny::ComponentSpec array_split_spec() {
  return tiny::ComponentSpec::of<ArraySplit>("array_split")
      .describe("Emits one message per array item, in order")
      .in("in", "{context, array}")
      .out("out", "{context, item, index, total}");
}

}  // namespace common_module
