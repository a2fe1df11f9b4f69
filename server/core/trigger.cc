#include "server/core/trigger.h"

namespace xxljob {

const char* GlueTypeName(GlueType type) {
  switch (type) {
    case GlueType::kBean:
      return "BEAN";
    case GlueType::kGroovy:
      return "GLUE_GROOVY";
    case GlueType::kShell:
      return "GLUE_SHELL";
    case GlueType::kPython:
      return "GLUE_PYTHON";
    case GlueType::kPython2:
      return "GLUE_PYTHON2";
    case GlueType::kNodejs:
      return "GLUE_NODEJS";
    case GlueType::kPhp:
      return "GLUE_PHP";
    case GlueType::kPowershell:
      return "GLUE_POWERSHELL";
  }
  return "UNKNOWN";
}

const char* RunCauseName(RunCause cause) {
  switch (cause) {
    case RunCause::kOk:
      return "ok";
    case RunCause::kFailed:
      return "failed";
    case RunCause::kTimeout:
      return "timeout";
    case RunCause::kKilled:
      return "killed";
    case RunCause::kCoverEarly:
      return "cover_early";
    case RunCause::kHandlerChange:
      return "handler_change";
    case RunCause::kShutdown:
      return "shutdown";
    case RunCause::kRestarted:
      return "restarted";
  }
  return "failed";
}

}  // namespace xxljob
