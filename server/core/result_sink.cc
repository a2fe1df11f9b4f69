#include "server/core/result_sink.h"

#include "glog/logging.h"

namespace xxljob {

void LoggingResultSink::Finished(const RunResult& result) {
  LOG(INFO) << "[job " << result.job_id << " log " << result.log_id
            << "] result " << result.handle_code << ": " << result.handle_msg;
}

}  // namespace xxljob
