// The admin simulator's HTTP face; the class is in admin_http.h.
#include "tools/admin_sim/admin_http.h"

#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "glog/logging.h"

namespace xxljob {

int AdminSimulator::http_port() const {
  return http_ != nullptr ? http_->port() : 0;
}

std::string AdminSimulator::http_url() const {
  if (http_ == nullptr) return "";
  return absl::StrCat(
      "http://",
      FormatHostPort(http_->host().empty() ? "127.0.0.1" : http_->host(),
                     http_->port()),
      "/xxl-job-admin");
}

absl::Status AdminSimulator::StartHttpFace() {
  http_ = std::make_unique<HttpFace>(this);
  if (absl::Status s = http_->Start(options_.http_listen); !s.ok()) return s;
  LOG(INFO) << "admin simulator HTTP face on " << http_url()
            << " (/api/registry, /api/registryRemove, /api/callback)";
  return absl::OkStatus();
}

void AdminSimulator::StopHttpFace() {
  if (http_ != nullptr) http_->Stop();
}

}  // namespace xxljob
