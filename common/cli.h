// Command-line plumbing shared by our binaries' main.cc files (xxl-executor,
// xxl-admin-sim): parsing absl flags with our exit codes, and handling
// SIGTERM/SIGINT as a graceful shutdown on a dedicated sigwait thread. Only
// for main(): libraries never read flags or touch signal masks.
//
// A main uses it in this order:
//
//   absl::SetProgramUsageMessage(...);          // optional, before parsing
//   std::vector<char*> args = ParseFlagsOrExit(argc, argv);
//   ...                                         // read flags, init logging
//   BlockShutdownSignals();                     // before any thread starts
//   ...                                         // start the server
//   SignalWaiter waiter;
//   int sig = waiter.WaitForSignal();           // blocks until SIGTERM/INT
//   ...                                         // graceful shutdown
//   waiter.Stop();
//   return 0;
#ifndef XXLJOB_COMMON_CLI_H_
#define XXLJOB_COMMON_CLI_H_

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"

namespace xxljob {

// Exit code for bad flags, and for a start that fails on the configuration
// given (port in use, unusable directory).
inline constexpr int kExitBadConfig = 2;
// Exit code when a second shutdown signal ends the process before shutdown
// is done (SignalWaiter::SecondSignal::kExit).
inline constexpr int kExitSecondSignal = 1;

// Sets the --help text: `message` first, then the flags defined in the file
// whose path ends in `main_file` (absl's default lists only flags of a file
// named after the program, which ours are not), and the --version text.
void SetUsage(absl::string_view message, std::string main_file,
              std::string version = "");

// The access token a binary uses, from its token flag's value `token`, its
// token-file flag's value `token_file` (the flags are named in errors) and
// the environment: `token` when set; else the file's contents without
// trailing line breaks (so `echo s3cret > file` works); else
// $XXL_JOB_ACCESS_TOKEN; else none (""). Explicit flags win over the
// environment. INVALID_ARGUMENT when both flags are set, or the file cannot
// be read or holds an empty token.
absl::StatusOr<std::string> ResolveAccessToken(absl::string_view token_flag,
                                               const std::string& token,
                                               absl::string_view file_flag,
                                               const std::string& token_file);

// Initializes glog with logs on stderr, unless glog's environment
// (GLOG_logtostderr, GLOG_log_dir) says otherwise.
void InitLoggingToStderr(const char* argv0);

// Parses the command line with absl::ParseCommandLine() and returns what it
// returns: argv[0], then the positional arguments. absl ends the process
// itself, with code 1, on an unknown flag or a bad value and after a usage
// request; this makes those exits kExitBadConfig (2) for bad flags and 0 for
// --help, --helpfull, --helpshort, --helppackage, --version and
// --only_check_args, with absl's messages unchanged. Call once, from main,
// after any absl::SetProgramUsageMessage / SetFlagsUsageConfig.
std::vector<char*> ParseFlagsOrExit(int argc, char** argv);

// The value of flag `name` as written on the command line ("--name=V",
// "-name=V", or "--name V"), read before absl parses it; "" when absent.
// For a flag that decides how other flags get their values (a file of
// defaults), which must be known before parsing.
std::string PeekFlag(int argc, char** argv, absl::string_view name);

// Sets flag `name` to `value` as if it were its default: call it before
// ParseFlagsOrExit, which then lets the command line (and --flagfile) win.
// INVALID_ARGUMENT naming the flag for an unknown flag or a bad value.
absl::Status SetFlagBeforeParsing(absl::string_view name,
                                  absl::string_view value);

// Blocks SIGTERM and SIGINT in the calling thread. Call it in main before any
// thread starts (gRPC's included): threads inherit the mask, so the signals
// interrupt no one and stay pending until a SignalWaiter takes them.
void BlockShutdownSignals();

// Waits for SIGTERM/SIGINT with sigwait on a thread of its own, so a signal
// starts a graceful shutdown instead of running a handler (glog's failure
// handler would treat it as a crash). The first signal wakes WaitForSignal();
// what a second one before Stop() does is chosen at construction.
// Thread-safety: WaitForSignal() may be called from any thread; Stop() from
// one thread at a time. Owns its thread, joined by Stop() or the destructor.
// REQUIRES: BlockShutdownSignals() was called before any thread started
// (checked in the constructing thread).
class SignalWaiter {
 public:
  enum class SecondSignal {
    // Log a WARNING and end the process at once with kExitSecondSignal: for
    // an operator who does not want to wait for a long graceful shutdown.
    kExit,
    // Nothing: the shutdown runs to its end (when it is quick anyway).
    kIgnore,
  };

  // Starts the thread.
  explicit SignalWaiter(SecondSignal second = SecondSignal::kExit);
  // Stop().
  ~SignalWaiter();
  SignalWaiter(const SignalWaiter&) = delete;
  SignalWaiter& operator=(const SignalWaiter&) = delete;

  // Blocks until the first signal; returns its number (SIGTERM or SIGINT).
  int WaitForSignal();

  // Ends and joins the thread; later signals stay blocked and pending, so
  // they no longer end the process. Does nothing the second time.
  void Stop();

 private:
  void Loop();

  const SecondSignal second_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> signal_{0};
  absl::Notification received_;
  std::thread thread_;  // Last: started once the rest is initialised.
};

}  // namespace xxljob

#endif  // XXLJOB_COMMON_CLI_H_
