// Flag parsing with our exit codes, and the shutdown-signal thread; see
// cli.h.
#include "common/cli.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace xxljob {
namespace {

// absl::ParseCommandLine() ends the process itself, with exit code 1, on an
// unknown flag or an unparsable value, and after --help. Our contract is 2
// for bad flags (and 0 for a usage request), so while it runs an atexit hook
// rewrites the code. It cannot tell why absl exits, so the command line is
// checked for a usage request beforehand.
std::atomic<int> g_exit_code_while_parsing{-1};

void RewriteFlagParsingExit() {
  const int code = g_exit_code_while_parsing.load();
  if (code < 0) return;  // A normal exit, after parsing.
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(code);
}

bool AsksForUsage(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--")) absl::ConsumePrefix(&arg, "-");
    arg = arg.substr(0, arg.find('='));
    for (absl::string_view usage :
         {"help", "helpfull", "helpshort", "helppackage", "version",
          "only_check_args"}) {
      if (arg == usage) return true;
    }
  }
  return false;
}

sigset_t ShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

}  // namespace

std::vector<char*> ParseFlagsOrExit(int argc, char** argv) {
  g_exit_code_while_parsing.store(AsksForUsage(argc, argv) ? 0
                                                           : kExitBadConfig);
  // Registered once, however often this is called.
  static const bool registered = std::atexit(&RewriteFlagParsingExit) == 0;
  (void)registered;
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  g_exit_code_while_parsing.store(-1);
  return args;
}

std::string PeekFlag(int argc, char** argv, absl::string_view name) {
  std::string value;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) {
      continue;
    }
    if (!absl::ConsumePrefix(&arg, name)) continue;
    if (absl::ConsumePrefix(&arg, "=")) {
      value = std::string(arg);
    } else if (arg.empty() && i + 1 < argc) {
      value = argv[++i];
    }
  }
  return value;
}

absl::Status SetFlagBeforeParsing(absl::string_view name,
                                  absl::string_view value) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no flag --", name));
  }
  std::string error;
  if (!flag->ParseFrom(value, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, "=", value, ": ", error));
  }
  return absl::OkStatus();
}

void BlockShutdownSignals() {
  const sigset_t signals = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

SignalWaiter::SignalWaiter(SecondSignal second) : second_(second) {
  sigset_t blocked;
  pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
  // Unblocked, a signal could go to any thread and end the process before
  // sigwait sees it: a bug in main, not a runtime condition.
  CHECK(sigismember(&blocked, SIGTERM) == 1 &&
        sigismember(&blocked, SIGINT) == 1)
      << "call BlockShutdownSignals() before any thread starts";
  thread_ = std::thread([this] { Loop(); });
}

SignalWaiter::~SignalWaiter() { Stop(); }

int SignalWaiter::WaitForSignal() {
  received_.WaitForNotification();
  return signal_.load();
}

void SignalWaiter::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  // Wakes sigwait; the loop sees stopping_ and returns.
  pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

void SignalWaiter::Loop() {
  const sigset_t signals = ShutdownSignals();
  int count = 0;
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (stopping_.load()) return;
    if (++count == 1) {
      signal_.store(sig);
      received_.Notify();
    } else if (second_ == SecondSignal::kExit) {
      LOG(WARNING) << "second signal (" << strsignal(sig)
                   << "): exiting without finishing the shutdown";
      std::_Exit(kExitSecondSignal);
    }
  }
}

void SetUsage(absl::string_view message, std::string main_file,
              std::string version) {
  absl::SetProgramUsageMessage(message);
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [main_file](absl::string_view file) {
    return absl::EndsWith(file, main_file);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  usage.normalize_filename = [main_file](absl::string_view file) {
    const size_t at = file.rfind(main_file);
    return std::string(at == absl::string_view::npos ? file : file.substr(at));
  };
  if (!version.empty()) {
    usage.version_string = [version] { return version + "\n"; };
  }
  absl::SetFlagsUsageConfig(usage);
}

void InitLoggingToStderr(const char* argv0) {
  if (std::getenv("GLOG_logtostderr") == nullptr &&
      std::getenv("GLOG_log_dir") == nullptr) {
    FLAGS_logtostderr = true;
  }
  google::InitGoogleLogging(argv0);
}

absl::StatusOr<std::string> ResolveAccessToken(absl::string_view token_flag,
                                               const std::string& token,
                                               absl::string_view file_flag,
                                               const std::string& token_file) {
  if (!token.empty() && !token_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("give --", token_flag, " or --", file_flag, ", not both"));
  }
  if (!token.empty()) return token;
  if (token_file.empty()) {
    // The environment keeps the token out of `ps` output.
    const char* env = std::getenv("XXL_JOB_ACCESS_TOKEN");
    return std::string(env != nullptr ? env : "");
  }
  std::ifstream in(token_file, std::ios::binary);
  if (!in.is_open()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", file_flag, " \"", token_file, "\": ", std::strerror(errno)));
  }
  std::stringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", file_flag, " \"", token_file, "\": read error"));
  }
  std::string read = content.str();
  while (!read.empty() && (read.back() == '\n' || read.back() == '\r')) {
    read.pop_back();
  }
  if (read.empty()) {
    // An empty token would turn authentication off without a word.
    return absl::InvalidArgumentError(absl::StrCat(
        "--", file_flag, " \"", token_file, "\" holds an empty token"));
  }
  return read;
}

}  // namespace xxljob
