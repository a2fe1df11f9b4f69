#include "handlers/script_handler.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace xxljob {
namespace {

constexpr ScriptLanguage kLanguages[] = {
    {"GLUE_SHELL", "bash", ".sh", nullptr},
    {"GLUE_PYTHON", "python3", ".py", "PYTHONUNBUFFERED=1"},
    {"GLUE_PYTHON2", "python", ".py", "PYTHONUNBUFFERED=1"},
    {"GLUE_NODEJS", "node", ".js", nullptr},
    {"GLUE_PHP", "php", ".php", nullptr},
    {"GLUE_POWERSHELL", "pwsh", ".ps1", nullptr},
};

constexpr char kDefaultSearchPath[] = "/usr/local/bin:/usr/bin:/bin";

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? absl::StrCat("SIG", abbrev) : "unknown signal";
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "write");
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

// mkdir -p, the last level 0700.
absl::Status MakeScriptDir(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", dir));
  }
  return absl::OkStatus();
}

// Scripts are passed to interpreters by an absolute path, so a relative
// data directory still names them whatever the interpreter's working
// directory becomes.
std::string Absolute(const std::string& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

}  // namespace

const ScriptLanguage* FindScriptLanguage(absl::string_view glue_type) {
  for (const ScriptLanguage& language : kLanguages) {
    if (glue_type == language.glue_type) return &language;
  }
  return nullptr;
}

// ---------------------------------------------------------------- ScriptStore

std::string ScriptStore::PathOf(const ScriptVersion& version) const {
  return absl::StrCat(dir_, "/", version.job_id, "_", version.glue_updatetime,
                      version.language->extension);
}

absl::StatusOr<std::string> ScriptStore::Materialize(
    const ScriptVersion& version) const {
  if (version.language == nullptr) {
    return absl::InvalidArgumentError("script version without a language");
  }
  std::string path = PathOf(version);
  struct stat st;
  // Written once per version: a file under the final name is complete, as
  // only a rename puts it there.
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    ShareWithReader(dir_, 0750);
    ShareWithReader(path, 0640);
    return path;
  }
  if (absl::Status s = MakeScriptDir(dir_); !s.ok()) return s;
  ShareWithReader(dir_, 0750);
  if (absl::Status s = Write(version, path); !s.ok()) return s;
  RemoveOtherVersions(version);
  return path;
}

absl::Status ScriptStore::Write(const ScriptVersion& version,
                                const std::string& path) const {
  static std::atomic<uint64_t> counter{0};
  // Hidden, and named after the job so RemoveOtherVersions finds leftovers.
  const std::string temp =
      absl::StrCat(dir_, "/.", version.job_id, "_", version.glue_updatetime,
                   ".tmp", getpid(), "-", ++counter);
  const int fd =
      open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create ", temp));
  bool renamed = false;
  absl::Cleanup remove_temp = [&] {
    if (!renamed) unlink(temp.c_str());
  };
  if (reader_gid_.has_value() &&
      (fchown(fd, -1, *reader_gid_) != 0 || fchmod(fd, 0640) != 0)) {
    const int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat("sharing ", temp));
  }
  absl::Status status = WriteAll(fd, version.source);
  if (status.ok() && fsync(fd) != 0)
    status = absl::ErrnoToStatus(errno, "fsync");
  if (close(fd) != 0 && status.ok()) {
    status = absl::ErrnoToStatus(errno, "close");
  }
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " ", temp));
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("rename to ", path));
  }
  renamed = true;
  // The rename itself must survive a crash too, or a restarted executor
  // could find neither name.
  const int dir_fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || fsync(dir_fd) != 0) {
    PLOG(WARNING) << "fsync of " << dir_ << " failed; " << path
                  << " may not survive a crash (it is rewritten if lost)";
  }
  if (dir_fd >= 0) close(dir_fd);
  VLOG(1) << "[job " << version.job_id << "] wrote script " << path;
  return absl::OkStatus();
}

void ScriptStore::ShareWithReader(const std::string& path, mode_t mode) const {
  if (!reader_gid_.has_value()) return;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;
  if (st.st_gid == *reader_gid_ && (st.st_mode & 07777) == mode) return;
  if (chown(path.c_str(), -1, *reader_gid_) != 0 ||
      chmod(path.c_str(), mode) != 0) {
    PLOG(WARNING) << "can't give group " << *reader_gid_ << " read access to "
                  << path << "; the script user may not read its script";
  }
}

void ScriptStore::RemoveOtherVersions(const ScriptVersion& version) const {
  const std::string keep =
      absl::StrCat(version.job_id, "_", version.glue_updatetime,
                   version.language->extension);
  const std::string prefix = absl::StrCat(version.job_id, "_");
  const std::string temp_prefix = absl::StrCat(".", prefix);
  DIR* dir = opendir(dir_.c_str());
  if (dir == nullptr) {
    PLOG(WARNING) << "can't list " << dir_ << " to remove old scripts";
    return;
  }
  while (const dirent* entry = readdir(dir)) {
    const absl::string_view name(entry->d_name);
    absl::string_view rest = name;
    // "<job>_<digits>...": job 1 must not take job 12's files.
    const bool ours = absl::ConsumePrefix(&rest, prefix) ||
                      absl::ConsumePrefix(&rest, temp_prefix);
    if (!ours || rest.empty() || !absl::ascii_isdigit(rest[0]) ||
        name == keep) {
      continue;
    }
    const std::string path = absl::StrCat(dir_, "/", name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      PLOG(WARNING) << "can't remove old script " << path;
    } else {
      VLOG(1) << "[job " << version.job_id << "] removed " << path;
    }
  }
  closedir(dir);
}

// --------------------------------------------------------------- ScriptEngine

ScriptEngine::ScriptEngine(ScriptEngineOptions options,
                           std::shared_ptr<ProcessRunner> runner)
    : store_(Absolute(options.scripts_dir), options.reader_gid),
      search_path_([&options] {
        if (!options.search_path.empty()) return options.search_path;
        const char* path = getenv("PATH");
        return std::string(
            path != nullptr && *path != '\0' ? path : kDefaultSearchPath);
      }()),
      runner_(std::move(runner)) {
  CHECK(runner_ != nullptr) << "ScriptEngine needs a ProcessRunner";
}

void ScriptEngine::Run(const ScriptVersion& version, RunContext& ctx) const {
  const ScriptLanguage& language = *version.language;
  absl::StatusOr<std::string> interpreter =
      FindExecutable(language.interpreter, search_path_);
  if (!interpreter.ok()) {
    ctx.Fail(absl::StrCat("interpreter ", language.interpreter,
                          " not found for ", language.glue_type));
    return;
  }
  absl::StatusOr<std::string> script = store_.Materialize(version);
  if (!script.ok()) {
    ctx.Fail(
        absl::StrCat("cannot write the script: ", script.status().message()));
    return;
  }
  ProcessSpec spec;
  spec.program = *interpreter;
  spec.args = {*script, ctx.params(), absl::StrCat(ctx.shard_index()),
               absl::StrCat(ctx.shard_total())};
  spec.env = {{"XXL_JOB_ID", absl::StrCat(ctx.job_id())},
              {"XXL_LOG_ID", absl::StrCat(ctx.log_id())},
              {"XXL_SHARD_INDEX", absl::StrCat(ctx.shard_index())},
              {"XXL_SHARD_TOTAL", absl::StrCat(ctx.shard_total())}};
  if (language.env != nullptr) {
    const absl::string_view env(language.env);
    const size_t eq = env.find('=');
    spec.env.emplace_back(env.substr(0, eq), env.substr(eq + 1));
  }
  spec.name = absl::StrCat("job ", ctx.job_id(), " log ", ctx.log_id());
  ctx.Log(absl::StrCat("script: ", *interpreter, " ", *script));

  absl::StatusOr<ProcessExit> exit =
      runner_->Run(spec, ctx.cancellation(),
                   [&ctx](absl::string_view chunk) { ctx.WriteOutput(chunk); });
  ctx.FlushOutput();
  if (!exit.ok()) {
    ctx.Fail(absl::StrCat("script ", *script, ": ", exit.status().message()));
  } else if (!exit->limit.empty()) {
    ctx.Fail(absl::StrCat("script ended: ", exit->limit));
  } else if (exit->killed) {
    // What the executor reports instead: the kill's reason, or the timeout.
    ctx.Fail("script stopped: the run was cancelled");
  } else if (exit->signaled) {
    ctx.Fail(absl::StrCat("script killed by signal ", exit->signal, " (",
                          SignalName(exit->signal), ")"));
  } else if (exit->exit_code != 0) {
    ctx.Fail(
        absl::StrCat("script exit value(", exit->exit_code, ") is failed"));
  } else {
    ctx.Success();
  }
}

std::shared_ptr<const JobHandler> NewScriptHandler(
    std::shared_ptr<const ScriptEngine> engine, ScriptVersion version) {
  auto run = [engine = std::move(engine), version = std::move(version)](
                 RunContext& ctx) { engine->Run(version, ctx); };
  return std::make_shared<const JobHandler>(
      JobHandler{std::move(run), nullptr, nullptr});
}

}  // namespace xxljob
