// Certificates for TLS tests, made at test time with the openssl command
// line in a directory of the test's: a CA, a server certificate for
// localhost and 127.0.0.1, a client certificate from the same CA, and a
// rogue CA with a client certificate of its own (a client that is
// well-formed but not trusted). EC P-256 keys, valid for two days.
//
//   testing::TempDir dir;
//   absl::StatusOr<testing::TestCerts> certs =
//   testing::MakeTestCerts(dir.path()); ASSERT_THAT(certs, IsOk());
//   options.tls.cert_file = certs->server_cert; ...
//
// openssl must be on PATH (dev.sh installs it); without it this fails
// rather than skips, so a missing tool never hides the TLS tests.
#ifndef XXLJOB_TESTS_TESTING_TEST_CERTS_H_
#define XXLJOB_TESTS_TESTING_TEST_CERTS_H_

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/testing/child_process.h"

namespace xxljob::testing {

struct TestCerts {
  std::string ca;           // PEM CA certificate
  std::string server_cert;  // SAN DNS:localhost, IP:127.0.0.1; from `ca`
  std::string server_key;
  std::string client_cert;  // from `ca`
  std::string client_key;
  std::string rogue_ca;           // another CA, trusted by no one
  std::string rogue_client_cert;  // from `rogue_ca`
  std::string rogue_client_key;
};

// The openssl binary on PATH, or "" when there is none.
inline std::string OpensslPath() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = absl::StrCat(dir, "/openssl");
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs `openssl args...`; INTERNAL with its stderr when it fails.
inline absl::Status RunOpenssl(std::vector<std::string> args) {
  const std::string openssl = OpensslPath();
  if (openssl.empty()) {
    return absl::FailedPreconditionError(
        "openssl is not on PATH (./dev.sh deps installs it)");
  }
  args.insert(args.begin(), openssl);
  ChildProcess child(args);
  absl::StatusOr<int> exit = child.WaitForExit();
  if (!exit.ok()) return exit.status();
  if (*exit != 0) {
    return absl::InternalError(absl::StrCat("openssl ", args[1], " exited ",
                                            *exit, ": ", child.Stderr()));
  }
  return absl::OkStatus();
}

// Makes `<dir>/<name>.pem` and `<dir>/<name>.key`: a CA when `issuer` is
// empty, else a leaf certificate issued by `<dir>/<issuer>.pem` with
// `extensions` ("-addext" values).
inline absl::Status MakeCert(const std::string& dir, const std::string& name,
                             const std::string& subject,
                             const std::string& issuer,
                             const std::vector<std::string>& extensions) {
  std::vector<std::string> args = {"req",
                                   "-x509",
                                   "-newkey",
                                   "ec",
                                   "-pkeyopt",
                                   "ec_paramgen_curve:prime256v1",
                                   "-nodes",
                                   "-days",
                                   "2",
                                   "-subj",
                                   subject,
                                   "-keyout",
                                   absl::StrCat(dir, "/", name, ".key"),
                                   "-out",
                                   absl::StrCat(dir, "/", name, ".pem")};
  if (!issuer.empty()) {
    args.insert(args.end(), {"-CA", absl::StrCat(dir, "/", issuer, ".pem"),
                             "-CAkey", absl::StrCat(dir, "/", issuer, ".key")});
  }
  for (const std::string& extension : extensions) {
    args.insert(args.end(), {"-addext", extension});
  }
  return RunOpenssl(std::move(args));
}

// Makes the whole set in `dir` (which must exist).
inline absl::StatusOr<TestCerts> MakeTestCerts(const std::string& dir) {
  const std::vector<std::string> leaf = {"basicConstraints=critical,CA:FALSE",
                                         "keyUsage=digitalSignature"};
  auto with = [&leaf](std::vector<std::string> more) {
    more.insert(more.begin(), leaf.begin(), leaf.end());
    return more;
  };
  const struct {
    const char* name;
    const char* subject;
    const char* issuer;
    std::vector<std::string> extensions;
  } steps[] = {
      {"ca", "/CN=xxl test CA", "", {}},
      {"server", "/CN=localhost", "ca",
       with({"subjectAltName=DNS:localhost,IP:127.0.0.1",
             "extendedKeyUsage=serverAuth"})},
      {"client", "/CN=xxl test client", "ca",
       with({"extendedKeyUsage=clientAuth"})},
      {"rogue_ca", "/CN=xxl rogue CA", "", {}},
      {"rogue_client", "/CN=xxl rogue client", "rogue_ca",
       with({"extendedKeyUsage=clientAuth"})},
  };
  for (const auto& step : steps) {
    if (absl::Status s = MakeCert(dir, step.name, step.subject, step.issuer,
                                  step.extensions);
        !s.ok()) {
      return s;
    }
  }
  const auto pem = [&dir](const char* name) {
    return absl::StrCat(dir, "/", name, ".pem");
  };
  const auto key = [&dir](const char* name) {
    return absl::StrCat(dir, "/", name, ".key");
  };
  TestCerts certs;
  certs.ca = pem("ca");
  certs.server_cert = pem("server");
  certs.server_key = key("server");
  certs.client_cert = pem("client");
  certs.client_key = key("client");
  certs.rogue_ca = pem("rogue_ca");
  certs.rogue_client_cert = pem("rogue_client");
  certs.rogue_client_key = key("rogue_client");
  return certs;
}

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_TEST_CERTS_H_
