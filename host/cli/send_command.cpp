// `tinyhost send`: one Send call, the answer's data on stdout.
#include <iostream>

#include "host/cli/commands.h"
#include "host/net/client_credentials.h"
#include "tinysystems/module/v1/module.grpc.pb.h"

namespace tiny::host {
namespace {

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

}  // namespace

int RunSend(const SendOptions& o) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  try {
    creds = ClientCredentials(o.tls);
  } catch (const std::exception& e) {
    std::cerr << "tinyhost: error: " << e.what() << "\n";
    return 2;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(o.max_message_size));
  args.SetMaxSendMessageSize(static_cast<int>(o.max_message_size));
  auto channel = grpc::CreateCustomChannel(o.address, creds, args);
  auto stub = tinysystems::module::v1::ModuleService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + o.timeout);
  tinysystems::module::v1::Message request;
  request.set_to(o.to);
  request.set_from("tinyhost-send");
  request.set_data(o.data);
  for (const auto& [k, v] : o.metadata) (*request.mutable_metadata())[k] = v;
  tinysystems::module::v1::Response response;
  grpc::Status status = stub->Send(&ctx, request, &response);
  if (!status.ok()) {
    std::cerr << CodeName(status.error_code()) << ": " << status.error_message() << "\n";
    return 1;
  }
  if (!response.error().empty()) {
    std::cerr << "component error: " << response.error() << "\n";
    return 1;
  }
  std::cout << response.data() << "\n";
  return 0;
}

}  // namespace tiny::host
