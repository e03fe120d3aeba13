// The etcd gateway client: one libcurl easy handle (its connection cache keeps one keep-alive
// connection per member), fail-over from member to member, authentication, TLS.
#include "etcd_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "busyring/base/assert.h"
#include "busyring/base/log.h"
#include "etcd_wire.h"

namespace busyring::ids {
namespace {

constexpr size_t kMaxReplyBytes = 1 << 20;  // our replies are a few hundred bytes

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t n = size * count;
  if (out->size() + n > kMaxReplyBytes) return 0;  // aborts the transfer
  out->append(data, n);
  return n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* stop = static_cast<const std::atomic<bool>*>(user);
  return stop != nullptr && stop->load(std::memory_order_relaxed) ? 1 : 0;
}

// Whether a member's error answer means "this member cannot serve now" (try another) rather
// than "this request is wrong" (every member would say the same). gRPC codes: 1 cancelled,
// 2 unknown, 4 deadline exceeded, 8 resource exhausted ("too many requests"), 14 unavailable
// ("no leader", "leader changed", "request timed out").
bool member_trouble(long http_status, int code) {
  if (http_status >= 500) return true;
  return code == 1 || code == 2 || code == 4 || code == 8 || code == 14;
}

// `secret`: a file only its owner should read (a password, a private key); said once if not.
base::Result<std::string> read_small_file(const std::string& path, const char* flag, bool secret) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::Error{std::string("cannot read ") + flag + " " + path + ": " + std::strerror(errno)};
  struct stat st {};
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 65536) text.append(buf, static_cast<size_t>(n));
  const int read_errno = n < 0 ? errno : 0;
  const bool stat_ok = ::fstat(fd, &st) == 0;
  ::close(fd);
  if (read_errno != 0) return base::Error{std::string("cannot read ") + flag + " " + path + ": " + std::strerror(read_errno)};
  if (secret && stat_ok && (st.st_mode & 077) != 0)
    BR_LOG_WARN("%s %s can be read by other users (mode %03o); chmod 600 it", flag, path.c_str(),
                static_cast<unsigned>(st.st_mode & 0777));
  return text;
}

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

base::Result<EtcdSettings> load_etcd_settings(std::vector<EtcdMember> members, const std::string& password_file,
                                              const std::string& ca_file, const std::string& cert_file,
                                              const std::string& key_file) {
  EtcdSettings s;
  s.members = std::move(members);
  if (!password_file.empty()) {
    auto text = read_small_file(password_file, "--id-source-password-file", true);
    if (!text) return base::Error{text.error()};
    std::string line = text.value().substr(0, text.value().find('\n'));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t sep = line.find_first_of(": ");
    if (sep == std::string::npos || sep == 0 || sep + 1 == line.size())
      return base::Error{"--id-source-password-file " + password_file +
                         ": etcd needs a user and a password; write one line `USER:PASSWORD`"};
    s.user = line.substr(0, sep);
    s.password = line.substr(sep + 1);
  }
  if ((!cert_file.empty() || !key_file.empty()) && ca_file.empty())
    return base::Error{"--id-source-cert-file and --id-source-key-file need --id-source-ca-file (the CA that signed "
                       "the etcd members' certificates): TLS is on only with it"};
  if (cert_file.empty() != key_file.empty())
    return base::Error{"--id-source-cert-file and --id-source-key-file go together (a client certificate and its key)"};
  for (const auto& [path, flag] : {std::pair{ca_file, "--id-source-ca-file"}, std::pair{cert_file, "--id-source-cert-file"},
                                   std::pair{key_file, "--id-source-key-file"}}) {
    if (path.empty()) continue;
    auto text = read_small_file(path, flag, path == key_file);
    if (!text) return base::Error{text.error()};
    if (text.value().find("-----BEGIN ") == std::string::npos)
      return base::Error{std::string(flag) + " " + path + " is not a PEM file (no -----BEGIN line)"};
  }
  s.password_file = password_file;
  s.ca_file = ca_file;
  s.cert_file = cert_file;
  s.key_file = key_file;
  return s;
}

EtcdClient::EtcdClient(EtcdSettings settings) : settings_(std::move(settings)) {
  BR_ASSERT(!settings_.members.empty());
  curl_init_once();
  curl_ = curl_easy_init();
  BR_ASSERT(curl_ != nullptr);
  set_token("");
}

EtcdClient::~EtcdClient() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
  curl_slist_free_all(headers_);
}

std::string EtcdClient::where() const {
  std::string out = "etcd ";
  for (size_t i = 0; i < settings_.members.size(); ++i)
    out += (i > 0 ? "," : "") + settings_.members[i].host + ":" + std::to_string(settings_.members[i].port);
  return out;
}

std::string EtcdClient::etcdctl_flags() const {
  std::string out = "--endpoints=";
  for (size_t i = 0; i < settings_.members.size(); ++i) out += (i > 0 ? "," : "") + url(i, "");
  if (!settings_.ca_file.empty()) out += " --cacert=" + settings_.ca_file;
  if (!settings_.cert_file.empty()) out += " --cert=" + settings_.cert_file + " --key=" + settings_.key_file;
  if (!settings_.user.empty()) out += " --user=" + settings_.user;
  return out;
}

std::string EtcdClient::url(size_t member, const char* path) const {
  const EtcdMember& m = settings_.members[member];
  return (settings_.ca_file.empty() ? "http://" : "https://") + m.host + ":" + std::to_string(m.port) + path;
}

void EtcdClient::set_token(const std::string& token) {
  token_ = token;
  curl_slist_free_all(headers_);
  headers_ = curl_slist_append(nullptr, "Content-Type: application/json");
  headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
  if (!token_.empty()) headers_ = curl_slist_append(headers_, ("Authorization: " + token_).c_str());
  BR_ASSERT(headers_ != nullptr);
}

base::Result<std::string> EtcdClient::post(const char* path, const std::string& body) {
  access_refused_ = false;
  std::string failures;
  for (size_t tried = 0; tried < settings_.members.size() && !stopping(); ++tried) {
    const size_t member = current_;
    std::string reply, error;
    Outcome outcome = post_once(member, path, body, reply, error);
    if (outcome == Outcome::auth_needed) {
      if (settings_.user.empty()) {
        access_refused_ = true;
        return base::Error{error + " (etcd has authentication on: give --id-source-password-file)"};
      }
      outcome = authenticate(member, error);
      if (outcome == Outcome::ok) outcome = post_once(member, path, body, reply, error);
      if (outcome == Outcome::auth_needed) outcome = Outcome::access_refused;
    }
    if (outcome == Outcome::access_refused) {
      access_refused_ = true;
      return base::Error{error};
    }
    if (outcome == Outcome::ok) {
      current_ok_ = true;
      return reply;
    }
    if (outcome == Outcome::refused) return base::Error{error};
    // This member cannot serve now: the next one.
    failures += (failures.empty() ? "" : "; ") + error;
    current_ = (member + 1) % settings_.members.size();
    if (current_ok_ && settings_.members.size() > 1)
      BR_LOG_WARN("id source: etcd %s; trying member %s:%u", error.c_str(), settings_.members[current_].host.c_str(),
                  settings_.members[current_].port);
    current_ok_ = false;
  }
  if (stopping()) return base::Error{"shutting down"};
  return base::Error{failures};
}

EtcdClient::Outcome EtcdClient::post_once(size_t member, const char* path, const std::string& body, std::string& reply,
                                          std::string& error) {
  if (!settings_.user.empty() && token_.empty() && std::strcmp(path, "/v3/auth/authenticate") != 0) {
    if (const Outcome o = authenticate(member, error); o != Outcome::ok) return o;
  }
  reply.clear();  // a retry after signing in again must not append to the refusal
  const std::string target = url(member, path);
  curl_easy_reset(curl_);  // keeps the connection cache
  curl_easy_setopt(curl_, CURLOPT_URL, target.c_str());
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);  // a thread of a multi-threaded process
  curl_easy_setopt(curl_, CURLOPT_NOPROXY, "*");  // members are named directly, never via *_proxy
  curl_easy_setopt(curl_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(kConnectTimeoutMs));
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(kTimeoutMs));
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, stop_);
  if (!settings_.ca_file.empty()) {
    curl_easy_setopt(curl_, CURLOPT_CAINFO, settings_.ca_file.c_str());
    if (!settings_.cert_file.empty()) {
      curl_easy_setopt(curl_, CURLOPT_SSLCERT, settings_.cert_file.c_str());
      curl_easy_setopt(curl_, CURLOPT_SSLKEY, settings_.key_file.c_str());
    }
  }
  const EtcdMember& m = settings_.members[member];
  const std::string who = "member " + m.host + ":" + std::to_string(m.port);
  char detail[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, detail);
  const CURLcode rc = curl_easy_perform(curl_);
  curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);  // `detail` ends with this call
  if (rc != CURLE_OK) {
    error = who + ": " + (detail[0] != '\0' ? detail : curl_easy_strerror(rc));
    return Outcome::member_failed;
  }
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200) return Outcome::ok;
  const EtcdError e = parse_etcd_error(parser_, reply);
  error = who + ": HTTP " + std::to_string(status) + ": " + e.message;
  if (e.message.find("CommonName of client") != std::string::npos)
    error += " (with authentication on, etcd's JSON gateway refuses a client certificate that has a CommonName: "
             "issue the node's certificate without one; the node signs in with --id-source-password-file)";
  // An expired or unknown token, or none where authentication is on ("user name is empty").
  if (e.code == kEtcdUnauthenticated ||
      (e.code == kEtcdInvalidArgument && e.message.find("user name is empty") != std::string::npos))
    return Outcome::auth_needed;
  if (e.code == kEtcdPermissionDenied) return Outcome::access_refused;
  return member_trouble(status, e.code) ? Outcome::member_failed : Outcome::refused;
}

EtcdClient::Outcome EtcdClient::authenticate(size_t member, std::string& error) {
  set_token("");
  std::string reply;
  const Outcome o =
      post_once(member, "/v3/auth/authenticate", etcd_authenticate_json(settings_.user, settings_.password), reply, error);
  if (o != Outcome::ok) {
    error = "authenticating as " + settings_.user + ": " + error;
    return o == Outcome::member_failed ? o : Outcome::access_refused;
  }
  auto token = parse_etcd_token(parser_, reply);
  if (!token) {
    error = token.error();
    return Outcome::refused;
  }
  set_token(token.value());
  return Outcome::ok;
}

}  // namespace busyring::ids
