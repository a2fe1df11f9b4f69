// --xxl_properties with the real xxl-executor: a Java executor's
// application.properties turns the HTTP face on and configures it; flags on
// the command line win; a bad file or a port clash is a clear exit 2.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "client/executor_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/executor_process.h"
#include "tests/testing/temp_dir.h"

namespace xxljob {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using ::testing::HasSubstr;

// POSTs an empty body to `path` on 127.0.0.1:`port` and returns the answer.
std::string Post(int port, const std::string& path, const std::string& token) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect(
      {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  bhttp::request<bhttp::string_body> request(bhttp::verb::post, path, 11);
  request.set(bhttp::field::host, "127.0.0.1");
  request.set("XXL-JOB-ACCESS-TOKEN", token);
  request.prepare_payload();
  bhttp::write(socket, request);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  bhttp::read(socket, buffer, response);
  return response.body();
}

class XxlPropertiesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string path = dir_.path() + "/application.properties";
    std::ofstream(path) << text;
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(XxlPropertiesTest, AJavaExecutorsFileTurnsTheHttpFaceOnAndFlagsWin) {
  const std::string file =
      Write(absl::StrCat("server.port=8081\n"
                         "xxl.job.admin.addresses=\n"
                         "xxl.job.accessToken=from_file\n"
                         "xxl.job.executor.appname=app-from-file\n"
                         "xxl.job.executor.port=0\n"
                         "xxl.job.executor.logpath=",
                         dir_.path(), "/data\n",
                         "xxl.job.executor.logretentiondays=30\n"
                         "xxl.job.executor.brandNew=1\n"));
  testing::ExecutorProcess executor({"--xxl_properties=" + file,
                                     "--listen=127.0.0.1:0",
                                     "--app_name=app-from-flag"});
  ASSERT_TRUE(executor.WaitUntilServing().ok()) << executor.Stderr();
  ASSERT_TRUE(executor.WaitForStderr("HTTP face advertised as"));
  const int http_port = executor.HttpFacePort();
  ASSERT_GT(http_port, 0) << executor.Stderr();
  // The file's token guards the HTTP face.
  EXPECT_EQ(Post(http_port, "/beat", "from_file"),
            R"({"code":200,"msg":"Success"})");
  EXPECT_EQ(Post(http_port, "/beat", "other"),
            R"({"code":500,"msg":"The access token is wrong."})");
  // The command line's app name won over the file's.
  ExecutorClient grpc(executor.address(), "from_file");
  absl::StatusOr<v1::BeatResponse> beat = grpc.Beat();
  ASSERT_TRUE(beat.ok()) << beat.status();
  EXPECT_EQ(beat->app_name(), "app-from-flag");
  // The file's log path is the data directory.
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/data"));
  // One warning names the key this executor does not know.
  EXPECT_THAT(executor.Stderr(),
              HasSubstr("ignored: xxl.job.executor.brandNew"));
  EXPECT_EQ(executor.Terminate().value_or(-1), 0);
}

TEST_F(XxlPropertiesTest, TheJavaDefaultPortClashesWithGrpcsAndSaysWhatToSet) {
  const std::string file = Write("xxl.job.executor.port=9999\n");
  testing::ExecutorProcess executor(
      {"--xxl_properties=" + file, "--log_path=" + dir_.path() + "/data"});
  EXPECT_EQ(executor.WaitForExit().value_or(-1), 2);
  EXPECT_THAT(executor.Stderr(),
              HasSubstr("both want port 9999: give gRPC another one, e.g. "
                        "--listen=0.0.0.0:9990"));
}

TEST_F(XxlPropertiesTest, AMissingOrBadFileIsExit2NamingIt) {
  {
    testing::ExecutorProcess executor(
        {"--xxl_properties=" + dir_.path() + "/none.properties"});
    EXPECT_EQ(executor.WaitForExit().value_or(-1), 2);
    EXPECT_THAT(executor.Stderr(), HasSubstr("none.properties"));
  }
  {
    const std::string file = Write("xxl.job.executor.logretentiondays=many\n");
    testing::ExecutorProcess executor({"--xxl_properties=" + file});
    EXPECT_EQ(executor.WaitForExit().value_or(-1), 2);
    EXPECT_THAT(executor.Stderr(),
                HasSubstr("xxl.job.executor.logretentiondays"));
  }
}

}  // namespace
}  // namespace xxljob
