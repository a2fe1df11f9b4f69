// Glue (script) jobs (SPEC §3.12): the glue types this executor runs as
// scripts, where their sources are kept on disk, and the job handler that
// runs one version of a job's script through a ProcessRunner.
//
// The executor core turns a glue trigger into a ScriptVersion and asks
// NewScriptHandler for its handler; this library knows nothing of triggers.
#ifndef XXLJOB_HANDLERS_SCRIPT_HANDLER_H_
#define XXLJOB_HANDLERS_SCRIPT_HANDLER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "handlers/handler_registry.h"
#include "handlers/process.h"
#include "handlers/run_context.h"

namespace xxljob {

// A glue type run as a script: `interpreter script params shard_index
// shard_total`.
struct ScriptLanguage {
  const char* glue_type;    // The contract's enum name: "GLUE_SHELL".
  const char* interpreter;  // Looked up in PATH: "bash".
  const char* extension;    // Of the script file: ".sh".
  // "NAME=value" the interpreter needs so that output arrives as it is
  // printed rather than at exit (PYTHONUNBUFFERED=1), or nullptr.
  const char* env;
};

// The language of glue type `glue_type` ("GLUE_PYTHON", ...), or nullptr for
// types that are not scripts run here (BEAN, GLUE_GROOVY, unknown names).
// The pointer is to a static table.
const ScriptLanguage* FindScriptLanguage(absl::string_view glue_type);

// One version of one job's script.
struct ScriptVersion {
  int64_t job_id = 0;
  const ScriptLanguage* language = nullptr;  // Never null in a valid version.
  // Epoch milliseconds of the source's last edit: the version.
  int64_t glue_updatetime = 0;
  std::string source;
};

// Script files: <dir>/<job_id>_<glue_updatetime><extension>, mode 0600 in a
// 0700 directory (sources may hold secrets). A version is written once,
// atomically (temp file, fsync, rename, fsync of the directory), so no
// half-written script is ever run, even after a crash; writing it removes
// the job's other versions.
//
// Thread-safe for different job ids; calls for one job id must not overlap
// (the executor never overlaps runs of one job id, SPEC §3.2).
class ScriptStore {
 public:
  // `reader_gid`: scripts run as another user; the directory is then 0750
  // and the files 0640, both of group `reader_gid`, so that user can read
  // them and others still can't.
  explicit ScriptStore(std::string dir,
                       std::optional<gid_t> reader_gid = std::nullopt)
      : dir_(std::move(dir)), reader_gid_(reader_gid) {}
  ScriptStore(const ScriptStore&) = delete;
  ScriptStore& operator=(const ScriptStore&) = delete;

  // The path of `version`'s file, written first if it is not there yet
  // (creating the directory if needed); then the job's other versions, and
  // temp files a crash left, are removed (failures there are only logged).
  // Errors: the OS error if the file can't be written (nothing is left
  // behind then).
  absl::StatusOr<std::string> Materialize(const ScriptVersion& version) const;

  // Where `version` is (or would be) kept.
  std::string PathOf(const ScriptVersion& version) const;
  const std::string& dir() const { return dir_; }

 private:
  absl::Status Write(const ScriptVersion& version,
                     const std::string& path) const;
  void RemoveOtherVersions(const ScriptVersion& version) const;
  // The directory's and a file's group and mode for reader_gid_.
  void ShareWithReader(const std::string& path, mode_t mode) const;

  const std::string dir_;
  const std::optional<gid_t> reader_gid_;
};

struct ScriptEngineOptions {
  // Where script files are kept: <log_path>/glue for the executor. Made
  // absolute (against the working directory) at construction.
  std::string scripts_dir;
  // Where interpreters are looked up (PATH syntax); empty means this
  // process's PATH at construction (or /usr/local/bin:/usr/bin:/bin).
  std::string search_path;
  // Scripts run as another user, of this primary group (ScriptStore).
  std::optional<gid_t> reader_gid;
};

// Runs script versions: resolves the interpreter, materializes the script,
// runs it through the ProcessRunner with its output going to the run log,
// and sets the run's result. Thread-safe (runs of different jobs proceed
// concurrently). Handlers made by NewScriptHandler share ownership of it.
class ScriptEngine {
 public:
  // `runner` must not be null.
  ScriptEngine(ScriptEngineOptions options,
               std::shared_ptr<ProcessRunner> runner);
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // Runs `version` for the run `ctx` describes and sets its result:
  //   exit 0                 success;
  //   exit N                 500 "script exit value(N) is failed";
  //   killed by a signal     500 "script killed by signal N (SIGNAME)";
  //   no interpreter         500 "interpreter I not found for GLUE_X";
  //   a limit ended it       500 "script ended: <which limit> reached ..."
  //   cancelled              500 (the executor reports the kill or timeout
  //                          instead, whatever is set here).
  // The script gets `params shard_index shard_total` as arguments and
  // XXL_JOB_ID, XXL_LOG_ID, XXL_SHARD_INDEX, XXL_SHARD_TOTAL in its
  // environment. Blocks until the script and its processes are gone.
  void Run(const ScriptVersion& version, RunContext& ctx) const;

  const ScriptStore& store() const { return store_; }
  const std::string& search_path() const { return search_path_; }

 private:
  const ScriptStore store_;
  const std::string search_path_;
  const std::shared_ptr<ProcessRunner> runner_;
};

// A handler that runs `version` on `engine` (which it keeps alive). No init
// or destroy: the script is materialized by each run, which writes it only
// for the version's first run.
std::shared_ptr<const JobHandler> NewScriptHandler(
    std::shared_ptr<const ScriptEngine> engine, ScriptVersion version);

}  // namespace xxljob

#endif  // XXLJOB_HANDLERS_SCRIPT_HANDLER_H_
