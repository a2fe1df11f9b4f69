#include "client/http_admin_client.h"

#include <curl/curl.h>

#include <initializer_list>
#include <mutex>  // NOLINT(build/c++11): std::call_once
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/response_code.h"
#include "common/text.h"
#include "common/utf8.h"
#include "glog/logging.h"
#include "google/protobuf/util/json_util.h"
#include "security/tls_credentials.h"
#include "xxljob/http/v1/wire.pb.h"

namespace xxljob {
namespace {

namespace wire = ::xxljob::http::v1;

// An admin's answer is a small envelope; anything much larger is not one,
// and reading it all would only cost memory.
constexpr size_t kMaxAnswerBytes = 64 * 1024;
// How much of a bad answer an error quotes.
constexpr size_t kQuotedAnswerBytes = 120;

// libcurl's global state is set up once per process and never torn down:
// other threads may still use handles while the process exits.
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    CHECK_EQ(code, CURLE_OK)
        << "curl_global_init: " << curl_easy_strerror(code);
  });
}

// The parts of a URL that matter here, by libcurl's own parser, so the
// URL we validate is the URL it will use.
struct ParsedUrl {
  std::string scheme;  // lower case
  std::string base;    // scheme://host[:port][/path], no trailing slash
};

absl::StatusOr<ParsedUrl> ParseAdminUrl(absl::string_view url) {
  const auto bad = [url](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin URL \"", url, "\": ", why));
  };
  if (!IsHttpAdminAddress(url)) {
    return bad("must start with http:// or https://");
  }
  for (char c : url) {
    if (c < 0x21 || c > 0x7e) return bad("must be printable ASCII, no spaces");
  }
  CURLU* parsed = curl_url();
  if (parsed == nullptr) return absl::ResourceExhaustedError("curl_url");
  struct Free {
    CURLU* u;
    ~Free() { curl_url_cleanup(u); }
  } free_parsed{parsed};
  const std::string text(url);
  if (CURLUcode rc = curl_url_set(parsed, CURLUPART_URL, text.c_str(), 0);
      rc != CURLUE_OK) {
    return bad(curl_url_strerror(rc));
  }
  // Each part: nullopt-like "" when absent.
  const auto part = [parsed](CURLUPart which) {
    char* value = nullptr;
    std::string out;
    if (curl_url_get(parsed, which, &value, 0) == CURLUE_OK &&
        value != nullptr) {
      out = value;
    }
    curl_free(value);
    return out;
  };
  ParsedUrl out;
  out.scheme = absl::AsciiStrToLower(part(CURLUPART_SCHEME));
  if (out.scheme != "http" && out.scheme != "https") {
    return bad("scheme must be http or https");
  }
  const std::string host = part(CURLUPART_HOST);
  if (host.empty()) return bad("host is empty");
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty()) {
    return bad("must not carry user info (the token has its own option)");
  }
  if (!part(CURLUPART_QUERY).empty() || absl::StrContains(url, '?')) {
    return bad("must not have a query");
  }
  if (!part(CURLUPART_FRAGMENT).empty() || absl::StrContains(url, '#')) {
    return bad("must not have a fragment");
  }
  const std::string port = part(CURLUPART_PORT);
  int port_number = 0;
  if (!port.empty() && (!absl::SimpleAtoi(port, &port_number) ||
                        port_number < 1 || port_number > 65535)) {
    return bad("port must be a number in 1..65535");
  }
  std::string path = part(CURLUPART_PATH);
  while (!path.empty() && path.back() == '/') path.pop_back();
  out.base = absl::StrCat(out.scheme, "://", host,
                          port.empty() ? "" : absl::StrCat(":", port), path);
  return out;
}

absl::Status ValidateOptions(const HttpAdminClientOptions& options,
                             const ParsedUrl& url) {
  if (!IsPrintableAscii(options.access_token)) {
    return absl::InvalidArgumentError(
        "access token must be printable ASCII (it travels as an HTTP header)");
  }
  if (!IsPrintableAscii(options.app_name)) {
    return absl::InvalidArgumentError(
        "app name must be printable ASCII (it travels as an HTTP header)");
  }
  if (options.protocol == XxlProtocol::kGen35 && options.app_name.empty()) {
    return absl::InvalidArgumentError(
        "protocol 3.5 needs an app name (the XXL-JOB-APPNAME header)");
  }
  if (options.timeout <= absl::ZeroDuration() ||
      options.timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin call timeout must be positive and finite, got ",
                     absl::FormatDuration(options.timeout)));
  }
  const bool has_tls_files = !options.ca_file.empty() ||
                             !options.cert_file.empty() ||
                             !options.key_file.empty();
  if (url.scheme != "https") {
    if (!has_tls_files) return absl::OkStatus();
    // A CA for a plaintext admin would be a silent downgrade.
    return absl::InvalidArgumentError(absl::StrCat(
        "admin URL \"", options.url,
        "\": TLS files are given but the URL is http://; use https://"));
  }
  ClientTlsOptions tls;
  tls.enabled = true;
  tls.ca_file = options.ca_file;
  tls.cert_file = options.cert_file;
  tls.key_file = options.key_file;
  tls.refresh_interval = options.refresh_interval;
  return ValidateClientTls(tls);
}

// Gson omits null fields and the admins read a missing handleMsg as null,
// so an empty message is left out rather than sent as "".
template <typename Item>
void FillItem(const RunResult& result, Item* item) {
  item->set_log_id(result.log_id);
  item->set_handle_code(result.handle_code);
  // JSON strings must be valid UTF-8 or printing fails; the executor
  // already cleans messages, this also covers old outbox files.
  if (!result.handle_msg.empty()) {
    item->set_handle_msg(SanitizeUtf8(result.handle_msg));
  }
}

// protobuf's JSON mapping writes 64-bit integers as strings ("logId":"12",
// for JavaScript's sake); Gson writes Java's longs as numbers. Admins read
// either, but a stock executor's bodies are what admins and their proxies
// have seen, so ours match them: `"name":"-?digits"` becomes
// `"name":digits` for the given field names. Safe on our own output: a
// quote inside a string value is always escaped, so the pattern can only
// match a real key.
std::string UnquoteLongs(std::string json,
                         std::initializer_list<absl::string_view> names) {
  for (absl::string_view name : names) {
    const std::string key = absl::StrCat("\"", name, "\":\"");
    size_t at = 0;
    while ((at = json.find(key, at)) != std::string::npos) {
      const size_t open = at + key.size() - 1;  // the value's opening quote
      size_t end = open + 1;
      if (end < json.size() && json[end] == '-') ++end;
      while (end < json.size() && absl::ascii_isdigit(json[end])) ++end;
      if (end < json.size() && json[end] == '"' && end > open + 1) {
        json.erase(end, 1);
        json.erase(open, 1);
      }
      at = open;
    }
  }
  return json;
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = false;  // json_name: Java's spelling
  // Java's primitive fields are always present (handleCode 0 included).
  print.always_print_primitive_fields = true;
  std::string out;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, &out, print);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot encode the admin request as JSON: ",
                     std::string(status.message())));
  }
  return UnquoteLongs(std::move(out), {"logId", "logDateTim", "logDateTime"});
}

// Generations 2 and 3: a bare JSON array of items.
absl::StatusOr<std::string> ArrayCallbackBody(
    const std::vector<RunResult>& results) {
  std::vector<std::string> items;
  items.reserve(results.size());
  for (const RunResult& result : results) {
    wire::HandleCallbackParam item;
    FillItem(result, &item);
    item.set_log_date_tim(result.log_date_time);
    absl::StatusOr<std::string> json = ToJson(item);
    if (!json.ok()) return json.status();
    items.push_back(*std::move(json));
  }
  return absl::StrCat("[", absl::StrJoin(items, ","), "]");
}

// Generation 3.5: {"callbackList": [...]}.
absl::StatusOr<std::string> ListCallbackBody(
    const std::vector<RunResult>& results) {
  wire::CallbackRequest request;
  request.mutable_callback_list()->Reserve(static_cast<int>(results.size()));
  for (const RunResult& result : results) {
    wire::CallbackRequest::Item* item = request.add_callback_list();
    FillItem(result, item);
    item->set_log_date_time(result.log_date_time);
  }
  return ToJson(request);
}

size_t AppendAnswer(char* data, size_t size, size_t count, void* user) {
  auto* answer = static_cast<std::string*>(user);
  const size_t n = size * count;
  // Returning less than n makes libcurl stop with CURLE_WRITE_ERROR.
  if (answer->size() + n > kMaxAnswerBytes) return 0;
  answer->append(data, n);
  return n;
}

// What an answer says, "" when it is an acceptance.
std::string JudgeAnswer(long http_status, const std::string& answer) {
  if (http_status != 200) return absl::StrCat("HTTP ", http_status);
  if (absl::StripAsciiWhitespace(answer).empty()) return "empty answer";
  wire::AdminReturn parsed;
  google::protobuf::util::JsonParseOptions parse;
  // The envelope carries more than code and msg (data, content, success).
  parse.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(answer, &parsed, parse)
           .ok()) {
    return absl::StrCat("answer is not JSON: \"",
                        SanitizeUtf8(answer.substr(0, kQuotedAnswerBytes)),
                        answer.size() > kQuotedAnswerBytes ? "...\"" : "\"");
  }
  if (parsed.code() != kResponseCodeSuccess) {
    return absl::StrCat("code ", parsed.code(), ": ", parsed.msg());
  }
  return "";
}

}  // namespace

bool IsHttpAdminAddress(absl::string_view address) {
  return absl::StartsWithIgnoreCase(address, "http://") ||
         absl::StartsWithIgnoreCase(address, "https://");
}

// The easy handle and the header list it points at; both live as long as
// the client.
struct HttpAdminClient::Handle {
  CURL* curl = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
  }
};

absl::StatusOr<std::unique_ptr<HttpAdminClient>> HttpAdminClient::Create(
    HttpAdminClientOptions options) {
  absl::StatusOr<ParsedUrl> url = ParseAdminUrl(options.url);
  if (!url.ok()) return url.status();
  if (absl::Status s = ValidateOptions(options, *url); !s.ok()) return s;
  InitCurlOnce();
  LOG(INFO) << "admin client: HTTP admin " << url->base << ", protocol "
            << XxlProtocolName(options.protocol) << ", timeout "
            << options.timeout << ", access token "
            << (options.access_token.empty() ? "none" : "set")
            << (url->scheme == "https"
                    ? absl::StrCat(
                          ", TLS (CA ",
                          options.ca_file.empty() ? "system roots"
                                                  : options.ca_file,
                          options.cert_file.empty() ? ")" : ", mutual)")
                    : std::string());
  // Not make_unique: the constructor is private.
  std::unique_ptr<HttpAdminClient> client(
      new HttpAdminClient(std::move(options), url->base));
  absl::MutexLock lock(&client->mu_);
  if (client->handle_->curl == nullptr) {
    return absl::ResourceExhaustedError("curl_easy_init failed");
  }
  return client;
}

HttpAdminClient::HttpAdminClient(HttpAdminClientOptions options,
                                 std::string base_url)
    : options_(std::move(options)),
      base_url_(std::move(base_url)),
      handle_(std::make_unique<Handle>()) {
  absl::MutexLock lock(&mu_);
  Handle& h = *handle_;
  h.curl = curl_easy_init();
  if (h.curl == nullptr) return;
  const auto add_header = [&h](const std::string& line) {
    h.headers = curl_slist_append(h.headers, line.c_str());
  };
  add_header("Content-Type: application/json;charset=UTF-8");
  add_header("Accept: application/json");
  // libcurl would wait for "100 Continue" before a large body; the admins
  // never send it.
  add_header("Expect:");
  if (!options_.access_token.empty()) {
    add_header(absl::StrCat("XXL-JOB-ACCESS-TOKEN: ", options_.access_token));
  }
  if (options_.protocol == XxlProtocol::kGen35) {
    add_header(absl::StrCat("XXL-JOB-APPNAME: ", options_.app_name));
  }
  const long timeout_ms = static_cast<long>(  // NOLINT(runtime/int)
      absl::ToInt64Milliseconds(options_.timeout));
  CURL* c = h.curl;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h.headers);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h.error);
  // No signals: several threads, and libcurl's SIGALRM DNS timeout is not
  // thread-safe.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  // An admin that redirects is misconfigured; following could leak the
  // token to another host.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &AppendAnswer);
  // Ignore proxy environment variables: the admin list names the admins.
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  // Verified always: chain and host name.
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  if (absl::StartsWithIgnoreCase(options_.url, "https://")) {
    // Rotated files take effect within the refresh interval: libcurl may
    // keep the parsed CA bundle for 24 h, keeps a connection (and the client
    // certificate it presented) while it stays alive, and resumes TLS
    // sessions without verifying the admin's certificate again. A full
    // handshake once per interval is cheap.
    const long refresh_s = static_cast<long>(  // NOLINT(runtime/int)
        absl::ToInt64Seconds(options_.refresh_interval));
    curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, refresh_s);
    curl_easy_setopt(c, CURLOPT_MAXLIFETIME_CONN, refresh_s);
    curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  }
  if (!options_.cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, options_.cert_file.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, options_.key_file.c_str());
  }
}

HttpAdminClient::~HttpAdminClient() = default;

absl::Status HttpAdminClient::Post(absl::string_view path,
                                   const std::string& body) {
  const std::string url = absl::StrCat(base_url_, path);
  std::string answer;
  long http_status = 0;  // NOLINT(runtime/int): libcurl's type
  CURLcode code;
  {
    absl::MutexLock lock(&mu_);
    Handle& h = *handle_;
    h.error[0] = '\0';
    curl_easy_setopt(h.curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h.curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h.curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h.curl, CURLOPT_WRITEDATA, &answer);
    code = curl_easy_perform(h.curl);
    if (code == CURLE_OK) {
      curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &http_status);
    } else {
      const std::string detail =
          h.error[0] != '\0' ? std::string(h.error) : curl_easy_strerror(code);
      std::string why;
      switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
          why = absl::StrCat("timeout after ",
                             absl::FormatDuration(options_.timeout), " (",
                             detail, ")");
          break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
          why = absl::StrCat("connect: ", detail);
          break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
          why = absl::StrCat("TLS: ", detail);
          break;
        case CURLE_WRITE_ERROR:
          why = absl::StrCat("answer larger than ", kMaxAnswerBytes, " bytes");
          break;
        default:
          why = detail;
      }
      VLOG(1) << "admin " << url << " not reached: " << why;
      return absl::UnavailableError(absl::StrCat(base_url_, ": ", why));
    }
  }
  const std::string refusal = JudgeAnswer(http_status, answer);
  if (!refusal.empty()) {
    VLOG(1) << "admin " << url << " did not accept: " << refusal;
    return absl::UnavailableError(absl::StrCat(base_url_, ": ", refusal));
  }
  VLOG(1) << "admin " << url << " accepted";
  return absl::OkStatus();
}

absl::Status HttpAdminClient::PostRegistry(absl::string_view path,
                                           const RegistryParam& param) {
  wire::RegistryParam request;
  request.set_registry_group(param.registry_group);
  request.set_registry_key(param.registry_key);
  request.set_registry_value(param.registry_value);
  absl::StatusOr<std::string> body = ToJson(request);
  if (!body.ok()) return body.status();
  return Post(path, *body);
}

absl::Status HttpAdminClient::Registry(const RegistryParam& param) {
  return PostRegistry("/api/registry", param);
}

absl::Status HttpAdminClient::RegistryRemove(const RegistryParam& param) {
  return PostRegistry("/api/registryRemove", param);
}

absl::Status HttpAdminClient::Callback(const std::vector<RunResult>& results) {
  if (results.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> body = options_.protocol == XxlProtocol::kGen35
                                         ? ListCallbackBody(results)
                                         : ArrayCallbackBody(results);
  if (!body.ok()) return body.status();
  return Post("/api/callback", *body);
}

}  // namespace xxljob
