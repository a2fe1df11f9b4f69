// Asks a server what `grpcurl list` and `grpcurl describe` ask, over the
// server reflection protocol (grpc.reflection.v1alpha), without the
// reflection protos: requests are encoded and responses decoded by field
// number, so this test code can live in a binary that also links the
// server's reflection library.
#ifndef XXLJOB_TESTS_TESTING_REFLECTION_CLIENT_H_
#define XXLJOB_TESTS_TESTING_REFLECTION_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace xxljob::testing {

class ReflectionClient {
 public:
  explicit ReflectionClient(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)) {}

  // The services the server lists (grpcurl list).
  absl::StatusOr<std::vector<std::string>> ListServices() {
    absl::StatusOr<std::string> response = Ask(7, "");
    if (!response.ok()) return response.status();
    std::vector<std::string> names;
    for (const std::string& service : Fields(*response, 6)) {
      for (const std::string& s : Fields(service, 1)) {
        for (const std::string& name : Fields(s, 1)) names.push_back(name);
      }
    }
    return names;
  }

  // The file descriptors that define `symbol` (grpcurl describe).
  absl::StatusOr<std::vector<google::protobuf::FileDescriptorProto>>
  FilesContainingSymbol(const std::string& symbol) {
    absl::StatusOr<std::string> response = Ask(4, symbol);
    if (!response.ok()) return response.status();
    if (!Fields(*response, 7).empty()) {
      return absl::NotFoundError("reflection error response for " + symbol);
    }
    std::vector<google::protobuf::FileDescriptorProto> files;
    for (const std::string& r : Fields(*response, 4)) {
      for (const std::string& bytes : Fields(r, 1)) {
        files.emplace_back();
        if (!files.back().ParseFromString(bytes)) {
          return absl::DataLossError("bad FileDescriptorProto");
        }
      }
    }
    return files;
  }

 private:
  // The length-delimited values of field `number` in `message`.
  static std::vector<std::string> Fields(const std::string& message,
                                         int number) {
    google::protobuf::UnknownFieldSet set;
    std::vector<std::string> out;
    if (!set.ParseFromString(message)) return out;
    for (int i = 0; i < set.field_count(); ++i) {
      const auto& f = set.field(i);
      if (f.number() == number &&
          f.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED) {
        out.push_back(f.length_delimited());
      }
    }
    return out;
  }

  // One request/response exchange on a ServerReflectionInfo stream, the
  // request carrying string field `field` = `value`.
  absl::StatusOr<std::string> Ask(int field, const std::string& value) {
    std::string request;
    {
      google::protobuf::io::StringOutputStream raw(&request);
      google::protobuf::io::CodedOutputStream out(&raw);
      out.WriteTag((field << 3) | 2);
      out.WriteVarint32(value.size());
      out.WriteString(value);
    }
    grpc::CompletionQueue cq;
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
    auto call = stub.PrepareCall(
        &context,
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    auto step = [&cq](auto&& op) {
      op();
      void* tag;
      bool ok = false;
      return cq.Next(&tag, &ok) && ok;
    };
    grpc::Slice slice(request);
    grpc::ByteBuffer out_buffer(&slice, 1);
    grpc::ByteBuffer in_buffer;
    grpc::Status status;
    const bool exchanged = step([&] { call->StartCall(&cq); }) &&
                           step([&] { call->Write(out_buffer, &cq); }) &&
                           step([&] { call->Read(&in_buffer, &cq); });
    step([&] { call->WritesDone(&cq); });
    step([&] { call->Finish(&status, &cq); });
    cq.Shutdown();
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
    if (!status.ok()) {
      return absl::UnavailableError("reflection call failed: " +
                                    status.error_message());
    }
    if (!exchanged) return absl::UnavailableError("reflection stream failed");
    std::vector<grpc::Slice> slices;
    if (!in_buffer.Dump(&slices).ok()) {
      return absl::DataLossError("bad response");
    }
    std::string response;
    for (const grpc::Slice& s : slices) {
      response.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return response;
  }

  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_REFLECTION_CLIENT_H_
