#include "server/metrics/snapshot.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace xxljob {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

ClientMetric Value(MetricType type, double value,
                   std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

// One unlabelled series.
MetricFamily Single(std::string name, std::string help, MetricType type,
                    double value) {
  MetricFamily f = Family(std::move(name), std::move(help), type);
  f.metric.push_back(Value(type, value));
  return f;
}

MetricFamily Gauge(std::string name, std::string help, double value) {
  return Single(std::move(name), std::move(help), MetricType::Gauge, value);
}

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // The descriptor opendir holds.
}

}  // namespace

std::vector<MetricFamily> SnapshotFamilies(const MetricsSnapshot& s) {
  std::vector<MetricFamily> out;
  out.push_back(Gauge("xxl_executor_runs_running", "Runs executing now.",
                      static_cast<double>(s.running)));
  out.push_back(Gauge("xxl_executor_runs_queued",
                      "Accepted runs waiting for their job thread or a worker.",
                      static_cast<double>(s.queued)));
  out.push_back(Gauge("xxl_executor_job_threads", "Job threads alive.",
                      static_cast<double>(s.job_threads)));
  out.push_back(Gauge("xxl_executor_job_threads_limit",
                      "The bound on job threads (max_job_threads).",
                      static_cast<double>(s.max_job_threads)));
  out.push_back(Gauge("xxl_executor_worker_threads",
                      "Worker threads of the pool that executes runs.",
                      static_cast<double>(s.worker_threads)));
  out.push_back(Gauge("xxl_executor_worker_threads_limit",
                      "The bound on worker threads (max_running).",
                      static_cast<double>(s.max_running)));
  out.push_back(Gauge("xxl_executor_runs_queued_limit",
                      "The bound on triggers queued per job id "
                      "(max_queue_depth; 0 if none).",
                      static_cast<double>(s.max_queue_depth)));
  out.push_back(Gauge("xxl_executor_draining",
                      "1 while draining (shutdown started).",
                      s.draining ? 1 : 0));
  out.push_back(Gauge("xxl_executor_taillog_streams", "TailLog streams open.",
                      static_cast<double>(s.tail_streams)));
  if (s.outbox.has_value()) {
    const MetricsSnapshot::Outbox& o = *s.outbox;
    out.push_back(Gauge("xxl_executor_outbox_pending_results",
                        "Results not yet delivered (in memory, spilled or "
                        "journaled).",
                        static_cast<double>(o.pending)));
    out.push_back(Gauge("xxl_executor_outbox_oldest_pending_age_seconds",
                        "Age of the oldest undelivered result (0 when none).",
                        absl::ToDoubleSeconds(o.oldest_pending_age)));
    out.push_back(Gauge("xxl_executor_outbox_bytes",
                        "Bytes of the outbox journal on disk.",
                        static_cast<double>(o.bytes)));
    out.push_back(Single("xxl_executor_outbox_spills_total",
                         "Times results spilled from memory to disk only.",
                         MetricType::Counter, static_cast<double>(o.spills)));
    out.push_back(Single("xxl_executor_outbox_journal_errors_total",
                         "Outbox appends that failed.", MetricType::Counter,
                         static_cast<double>(o.journal_errors)));
  }
  if (!s.admins.empty()) {
    MetricFamily up = Family("xxl_executor_admin_up",
                             "1 if the last call to that admin succeeded.",
                             MetricType::Gauge);
    for (const MetricsSnapshot::Admin& a : s.admins) {
      up.metric.push_back(
          Value(MetricType::Gauge, a.up ? 1 : 0, {{"admin", a.address}}));
    }
    out.push_back(std::move(up));
  }
  if (s.since_registration.has_value()) {
    out.push_back(Gauge("xxl_executor_registration_age_seconds",
                        "Seconds since the last successful registration "
                        "(+Inf before the first).",
                        absl::ToDoubleSeconds(*s.since_registration)));
  }
  if (!s.connections.empty()) {
    MetricFamily open = Family("xxl_executor_connections_open",
                               "Connections open now.", MetricType::Gauge);
    MetricFamily limit = Family("xxl_executor_connections_limit",
                                "The bound on connections.", MetricType::Gauge);
    MetricFamily refused =
        Family("xxl_executor_connections_refused_total",
               "Connections closed at accept because of the bound or a "
               "descriptor shortage.",
               MetricType::Counter);
    for (const MetricsSnapshot::Connections& c : s.connections) {
      const std::vector<ClientMetric::Label> l = {{"transport", c.transport}};
      open.metric.push_back(
          Value(MetricType::Gauge, static_cast<double>(c.open), l));
      limit.metric.push_back(
          Value(MetricType::Gauge, static_cast<double>(c.limit), l));
      refused.metric.push_back(
          Value(MetricType::Counter, static_cast<double>(c.refused), l));
    }
    out.push_back(std::move(open));
    out.push_back(std::move(limit));
    out.push_back(std::move(refused));
  }
  return out;
}

std::vector<MetricFamily> ProcessFamilies() {
  std::vector<MetricFamily> out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // /proc/self/stat: the fields after the command (which may hold spaces
  // and parentheses) start at its last ')'.
  const std::string stat = ReadFile("/proc/self/stat");
  const size_t close = stat.rfind(')');
  if (close != std::string::npos && ticks > 0) {
    std::vector<absl::string_view> f =
        absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ');
    // f[0] is field 3 (state): field N is f[N - 3].
    double utime = 0, stime = 0, threads = 0, start = 0, rss = 0;
    if (f.size() > 21 && absl::SimpleAtod(f[11], &utime) &&
        absl::SimpleAtod(f[12], &stime) && absl::SimpleAtod(f[17], &threads) &&
        absl::SimpleAtod(f[19], &start) && absl::SimpleAtod(f[21], &rss)) {
      out.push_back(Single("process_cpu_seconds_total",
                           "Total user and system CPU time spent in seconds.",
                           MetricType::Counter, (utime + stime) / ticks));
      out.push_back(Gauge("process_resident_memory_bytes",
                          "Resident memory size in bytes.", rss * page));
      out.push_back(Gauge("process_threads", "Number of OS threads.", threads));
      // Field 22 counts from boot; btime (/proc/stat) is boot's epoch time.
      const std::string boot = ReadFile("/proc/stat");
      const size_t at = boot.find("\nbtime ");
      double btime = 0;
      if (at != std::string::npos &&
          absl::SimpleAtod(absl::string_view(boot).substr(at + 7).substr(
                               0, boot.find('\n', at + 7) - (at + 7)),
                           &btime)) {
        out.push_back(Gauge("process_start_time_seconds",
                            "Start time of the process since unix epoch in "
                            "seconds.",
                            btime + start / ticks));
      }
    }
  }
  const int64_t fds = CountOpenFds();
  if (fds >= 0) {
    out.push_back(Gauge("process_open_fds", "Number of open file descriptors.",
                        static_cast<double>(fds)));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(Gauge("process_max_fds",
                        "Maximum number of open file descriptors.",
                        limit.rlim_cur == RLIM_INFINITY
                            ? std::numeric_limits<double>::infinity()
                            : static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

}  // namespace xxljob
