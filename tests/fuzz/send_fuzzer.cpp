// libFuzzer: decoding an inbound Send (the protobuf bytes, then `to`, the
// JSON check and the hop metadata) never crashes, whatever the bytes.
#include <cstddef>
#include <cstdint>

#include "host/net/message_decoder.h"
#include "tinysystems/module/v1/module.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tinysystems::module::v1::Message msg;
  if (!msg.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)tiny::host::DecodeSend(msg);
  return 0;
}
