// The webhook sink: an HTTP POST of the event with libcurl, signed as GitHub signs its webhooks.
#include <curl/curl.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "notify/sinks.hpp"
#include "util/hash.hpp"

namespace cicd::notify::detail {

namespace {

// curl_global_init is not thread-safe and must run once before any handle.
bool curl_ready() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  return ok;
}

struct CurlFree {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Keeps the start of the answer, for the error message of a failed attempt.
size_t keep_start(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  size_t n = size * count;
  if (out->size() < 200) out->append(data, std::min(n, 200 - out->size()));
  return n;
}

Result<std::string> secret_of(const Target& target) {
  if (target.secret_env.empty()) return target.secret;
  const char* value = std::getenv(target.secret_env.c_str());
  // Unsigned would be accepted by a receiver that does not check, or refused by one that does:
  // either way not what the rule asked for.
  if (!value || !*value) return fail(ErrorKind::invalid, "the secret variable {} is not set", target.secret_env);
  return std::string(value);
}

std::unique_ptr<curl_slist, CurlFree> headers_for(const NotifyEvent& event, std::string_view body,
                                                  const std::string& secret) {
  curl_slist* list = nullptr;
  list = curl_slist_append(list, "Content-Type: application/json");
  list = curl_slist_append(list, ("X-Cicd-Event: " + event.type).c_str());
  if (!secret.empty())
    list = curl_slist_append(list, ("X-Cicd-Signature-256: sha256=" + hmac_sha256_hex(secret, body)).c_str());
  // No "Expect: 100-continue" round trip for a small body.
  list = curl_slist_append(list, "Expect:");
  return std::unique_ptr<curl_slist, CurlFree>(list);
}

void configure(CURL* c, const std::string& url, std::string_view body, curl_slist* headers,
               std::chrono::milliseconds timeout) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  // No signals: the caller may be threaded (cpipeline), where curl's SIGALRM for DNS timeouts is unsafe.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "cicd-notify/" CICD_VERSION);
  // A rules file names an http(s) URL (the parser checks); redirects are not followed at all.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_start);
}

}  // namespace

Status send_webhook(const Target& target, const NotifyEvent& event, std::string_view body) {
  auto secret = secret_of(target);
  if (!secret) return std::unexpected(secret.error());
  if (!curl_ready()) return fail(ErrorKind::internal, "libcurl could not be initialised");
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return fail(ErrorKind::internal, "libcurl could not make a handle");
  auto headers = headers_for(event, body, *secret);
  auto timeout = target.timeout.count() > 0 ? target.timeout : k_webhook_timeout;
  std::string answer;
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  configure(c, target.url, body, headers.get(), timeout);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    if (code == CURLE_OPERATION_TIMEDOUT)
      return fail(ErrorKind::timed_out, "timed out after {} ms", timeout.count());
    return fail(ErrorKind::io, "{}", *error ? error : curl_easy_strerror(code));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) return {};
  return fail(ErrorKind::failed, "HTTP {}{}", status, answer.empty() ? "" : ": " + answer);
}

}  // namespace cicd::notify::detail
