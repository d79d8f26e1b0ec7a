// lib/notify: real sinks (an HTTP server on 127.0.0.1 in a thread, bash commands, files written
// by several processes), retries, the dead letter, background publishing, the rules file.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "notify/notify.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/process.hpp"

using namespace cicd;
using namespace cicd::notify;
using namespace std::chrono_literals;

namespace {

struct Request {
  std::string request_line;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A tiny HTTP/1.1 server on 127.0.0.1, one request per connection: answers the i-th request with
// statuses[i] (the last one for any further request), after `delay`.
class TestServer {
 public:
  explicit TestServer(std::vector<int> statuses, std::chrono::milliseconds delay = 0ms)
      : m_statuses(std::move(statuses)), m_delay(delay) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // any free port
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(m_fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~TestServer() {
    m_stop = true;
    m_thread.join();
    ::close(m_fd);
  }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  int answered() const { return m_answered; }
  std::vector<Request> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  void serve() {
    while (!m_stop) {
      pollfd p{m_fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(m_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      handle(client);
      ::close(client);
    }
  }

  void handle(int client) {
    Request request;
    if (!read_request(client, request)) return;
    int index;
    {
      std::lock_guard lock(m_mutex);
      index = static_cast<int>(m_requests.size());
      m_requests.push_back(request);
    }
    std::this_thread::sleep_for(m_delay);
    int status = m_statuses[std::min<size_t>(static_cast<size_t>(index), m_statuses.size() - 1)];
    std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno";
    [[maybe_unused]] auto n = ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
    ++m_answered;
  }

  static bool read_request(int client, Request& request) {
    std::string data;
    char buf[4096];
    size_t header_end = std::string::npos;
    size_t length = 0;
    for (;;) {
      if (header_end != std::string::npos && data.size() >= header_end + 4 + length) break;
      pollfd p{client, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return false;
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) return false;
      data.append(buf, static_cast<size_t>(n));
      if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
        std::istringstream lines(data.substr(0, header_end));
        std::string line;
        std::getline(lines, request.request_line);
        while (std::getline(lines, line)) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          auto value = line.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          request.headers[lower(line.substr(0, colon))] = value;
        }
        if (request.headers.count("content-length")) length = std::stoul(request.headers["content-length"]);
      }
    }
    request.body = data.substr(header_end + 4, length);
    return true;
  }

  std::vector<int> m_statuses;
  std::chrono::milliseconds m_delay;
  int m_fd = -1;
  int m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_answered{0};
  mutable std::mutex m_mutex;
  std::vector<Request> m_requests;
  std::thread m_thread;
};

// A port nothing listens on: bound, then closed.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

NotifyEvent failed_event(const std::string& pipeline = "web") {
  NotifyEvent e;
  e.type = "codepipeline-pipeline-pipeline-execution-failed";
  e.source = "cpipeline";
  e.resource = "pipeline/" + pipeline;
  e.time = "2026-12-03T10:00:00.000Z";
  e.detail = {{"pipeline", pipeline}, {"execution-id", "e-1"}, {"state", "FAILED"}};
  return e;
}

DeliveryOptions fast_options(const test::Scratch& dir) {
  DeliveryOptions o;
  o.attempts = 3;
  o.initial_delay = 5ms;
  o.dead_letter = dir / "notify/dead-letter.jsonl";
  o.home = dir.path();
  return o;
}

Target webhook(const std::string& url) {
  Target t;
  t.type = TargetType::webhook;
  t.url = url;
  t.timeout = 5000ms;
  return t;
}

Target command(const std::string& text, std::chrono::milliseconds timeout = 10'000ms) {
  Target t;
  t.type = TargetType::command;
  t.command = text;
  t.timeout = timeout;
  return t;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Polls `done` every 20 ms for up to `bound`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds bound = 30'000ms) {
  auto end = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST_CASE("notify: hmac_sha256_hex gives RFC 4231's test vector", "[notify]") {
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("notify: the event JSON is shaped like an EventBridge event", "[notify]") {
  auto e = failed_event();
  e.detail["stages"] = Json::array({"Source"});
  e.id = "11111111-2222-4333-8444-555555555555";
  auto full = event_json(e, DetailType::full, "team");
  CHECK(full["version"] == "0");
  CHECK(full["id"] == e.id);
  CHECK(full["detail-type"] == "CodePipeline Pipeline Execution State Change");
  CHECK(full["source"] == "aws.codepipeline");
  CHECK(full["time"] == "2026-12-03T10:00:00.000Z");
  CHECK(full["resources"] == Json::array({"pipeline/web"}));
  CHECK(full["eventTypeId"] == e.type);
  CHECK(full["notificationRule"] == "team");
  CHECK(full["detail"]["stages"] == Json::array({"Source"}));
  auto basic = event_json(e, DetailType::basic);
  CHECK_FALSE(basic["detail"].contains("stages"));
  CHECK(basic["detail"]["state"] == "FAILED");
  CHECK_FALSE(basic.contains("notificationRule"));
  CHECK(detail_type_of("codepipeline-pipeline-manual-approval-needed") == "CodePipeline Action Execution State Change");
  CHECK(detail_type_of("codecommit-repository-branches-and-tags-created") == "CodeCommit Repository State Change");
}

TEST_CASE("notify: a webhook answered 500 is retried and the 200 delivers it, signed", "[notify]") {
  test::Scratch dir;
  TestServer server({500, 200});
  auto target = webhook(server.url());
  target.secret = "s3cret";
  auto reports = deliver(failed_event(), {target}, fast_options(dir));

  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  REQUIRE(reports[0].attempts.size() == 2);
  CHECK(reports[0].attempts[0].error == "HTTP 500: no");
  CHECK(reports[0].attempts[1].error.empty());
  CHECK_FALSE(reports[0].dead_lettered);
  CHECK_FALSE(std::filesystem::exists(dir / "notify/dead-letter.jsonl"));

  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  for (auto& r : requests) {
    CHECK(r.request_line.rfind("POST /hook HTTP/1.1", 0) == 0);
    CHECK(r.headers["content-type"] == "application/json");
    CHECK(r.headers["x-cicd-event"] == "codepipeline-pipeline-pipeline-execution-failed");
    // Recomputed over the bytes received, as a receiver checks it.
    CHECK(r.headers["x-cicd-signature-256"] == "sha256=" + hmac_sha256_hex("s3cret", r.body));
    auto body = Json::parse(r.body);
    CHECK(body["eventTypeId"] == "codepipeline-pipeline-pipeline-execution-failed");
    CHECK(body["detail"]["execution-id"] == "e-1");
  }
  // One event, one id, whatever the attempt: a receiver can drop duplicates.
  CHECK(Json::parse(requests[0].body)["id"] == Json::parse(requests[1].body)["id"]);
}

TEST_CASE("notify: a webhook secret can come from the environment, and without one there is no signature", "[notify]") {
  test::Scratch dir;
  TestServer server({200});
  ::setenv("CICD_TEST_HOOK_SECRET", "from-env", 1);
  auto signed_target = webhook(server.url());
  signed_target.secret_env = "CICD_TEST_HOOK_SECRET";
  auto plain = webhook(server.url("/plain"));
  auto reports = deliver(failed_event(), {signed_target, plain}, fast_options(dir));
  ::unsetenv("CICD_TEST_HOOK_SECRET");
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].delivered);
  CHECK(reports[1].delivered);
  auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].headers["x-cicd-signature-256"] == "sha256=" + hmac_sha256_hex("from-env", requests[0].body));
  CHECK(requests[1].headers.count("x-cicd-signature-256") == 0);

  // An unset variable fails the attempts rather than sending unsigned.
  auto reports2 = deliver(failed_event(), {signed_target}, fast_options(dir));
  REQUIRE(reports2.size() == 1);
  CHECK_FALSE(reports2[0].delivered);
  CHECK(reports2[0].attempts[0].error == "the secret variable CICD_TEST_HOOK_SECRET is not set");
  CHECK(server.requests().size() == 2);
}

TEST_CASE("notify: a webhook that does not answer within its timeout is a failed attempt", "[notify]") {
  test::Scratch dir;
  TestServer server({200}, 1000ms);
  auto target = webhook(server.url());
  target.timeout = 100ms;
  auto options = fast_options(dir);
  options.attempts = 1;
  auto reports = deliver(failed_event(), {target}, options);
  REQUIRE(reports.size() == 1);
  CHECK_FALSE(reports[0].delivered);
  REQUIRE(reports[0].attempts.size() == 1);
  CHECK(reports[0].attempts[0].error == "timed out after 100 ms");
  CHECK(reports[0].dead_lettered);
}

TEST_CASE("notify: a webhook to a closed port ends in the dead letter with every attempt", "[notify]") {
  test::Scratch dir;
  auto target = webhook("http://127.0.0.1:" + std::to_string(closed_port()) + "/hook");
  target.secret = "do-not-leak";
  auto options = fast_options(dir);
  options.rule = "team";
  auto reports = deliver(failed_event(), {target}, options);
  REQUIRE(reports.size() == 1);
  CHECK_FALSE(reports[0].delivered);
  CHECK(reports[0].dead_lettered);
  CHECK(reports[0].attempts.size() == 3);

  auto text = dir.read("notify/dead-letter.jsonl");
  auto lines = lines_of(text);
  REQUIRE(lines.size() == 1);
  CHECK(text.find("do-not-leak") == std::string::npos);
  auto dead = Json::parse(lines[0]);
  CHECK(dead["rule"] == "team");
  CHECK(dead["target"]["type"] == "webhook");
  CHECK(dead["target"]["url"] == target.url);
  CHECK(dead["target"]["secret"] == "***");
  CHECK(dead["event"]["eventTypeId"] == "codepipeline-pipeline-pipeline-execution-failed");
  CHECK(dead["event"]["resources"] == Json::array({"pipeline/web"}));
  REQUIRE(dead["attempts"].size() == 3);
  for (auto& a : dead["attempts"]) {
    CHECK_FALSE(a["error"].get<std::string>().empty());
    CHECK(a["time"].get<std::string>().size() == 24);
  }
  CHECK_FALSE(dead["time"].get<std::string>().empty());
}

TEST_CASE("notify: a command target gets the event JSON on stdin and its type and resource in the environment", "[notify]") {
  test::Scratch dir;
  auto out = dir / "stdin.json";
  auto env = dir / "env.txt";
  auto target = command("cat > " + quoted(out) + "; echo \"$CICD_EVENT_TYPE $CICD_EVENT_RESOURCE\" > " + quoted(env));
  auto reports = deliver(failed_event(), {target}, fast_options(dir));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  CHECK(reports[0].attempts.size() == 1);
  auto json = Json::parse(dir.read("stdin.json"));
  CHECK(json["eventTypeId"] == "codepipeline-pipeline-pipeline-execution-failed");
  CHECK(json["detail"]["pipeline"] == "web");
  CHECK(dir.read("env.txt") == "codepipeline-pipeline-pipeline-execution-failed pipeline/web\n");
}

TEST_CASE("notify: a command that fails is retried and its stderr explains the dead letter", "[notify]") {
  test::Scratch dir;
  auto count = dir / "count";
  // It does not read its stdin either: the write to its pipe must not kill us with SIGPIPE.
  auto target = command("echo x >> " + quoted(count) + "; echo 'no route to pager' >&2; exit 3");
  auto reports = deliver(failed_event(), {target}, fast_options(dir));
  REQUIRE(reports.size() == 1);
  CHECK_FALSE(reports[0].delivered);
  REQUIRE(reports[0].attempts.size() == 3);
  CHECK(reports[0].attempts[2].error == "exit status 3: no route to pager");
  CHECK(dir.read("count") == "x\nx\nx\n");
  auto dead = Json::parse(lines_of(dir.read("notify/dead-letter.jsonl")).at(0));
  CHECK(dead["target"]["command"] == target.command);
  CHECK(dead["attempts"][0]["error"] == "exit status 3: no route to pager");
}

TEST_CASE("notify: a command that hangs is killed with its process group at its timeout", "[notify]") {
  test::Scratch dir;
  auto pid_file = dir / "child.pid";
  // A child of the command, in its group, which must die with it.
  auto target = command("sleep 60 & echo $! > " + quoted(pid_file) + "; cat > /dev/null; sleep 60", 300ms);
  auto options = fast_options(dir);
  options.attempts = 1;
  auto reports = deliver(failed_event(), {target}, options);
  REQUIRE(reports.size() == 1);
  CHECK_FALSE(reports[0].delivered);
  REQUIRE(reports[0].attempts.size() == 1);
  CHECK(reports[0].attempts[0].error == "timed out after 300 ms");
  int child = std::stoi(dir.read("child.pid"));
  CHECK(eventually([&] { return process_start_time(child) == 0; }, 10'000ms));
  CHECK(Json::parse(lines_of(dir.read("notify/dead-letter.jsonl")).at(0))["attempts"][0]["error"] ==
        "timed out after 300 ms");
}

TEST_CASE("notify: two processes appending 200 lines each to a file target lose and mix nothing", "[notify]") {
  test::Scratch dir;
  Target target;
  target.type = TargetType::file;
  target.path = "events/all.jsonl";  // relative: under the home
  // Lines larger than a pipe buffer, so that a torn write would show.
  std::string padding(8000, 'p');
  std::vector<pid_t> children;
  for (int writer = 0; writer < 2; ++writer) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int failures = 0;
      for (int n = 0; n < 200; ++n) {
        auto e = failed_event();
        e.detail = {{"writer", writer}, {"n", n}, {"padding", padding}};
        auto reports = deliver(e, {target}, fast_options(dir));
        if (reports.size() != 1 || !reports[0].delivered) ++failures;
      }
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  auto lines = lines_of(dir.read("events/all.jsonl"));
  REQUIRE(lines.size() == 400);
  std::set<std::pair<int, int>> seen;
  for (auto& line : lines) {
    auto json = Json::parse(line);  // throws on a torn line
    CHECK(json["detail"]["padding"] == padding);
    seen.insert({json["detail"]["writer"].get<int>(), json["detail"]["n"].get<int>()});
  }
  CHECK(seen.size() == 400);
}

namespace {

Rule rule_for(std::vector<Target> targets, std::string resource = "pipeline/*",
              std::vector<std::string> events = {"*"}) {
  Rule r;
  r.name = "team";
  r.resource = std::move(resource);
  r.events = std::move(events);
  r.targets = std::move(targets);
  return r;
}

}  // namespace

TEST_CASE("notify: publish in background mode returns before a slow webhook has answered", "[notify]") {
  test::Scratch dir;
  TestServer server({200}, 1500ms);
  NotifyConfig config;
  config.initial_delay = 5ms;
  config.rules.push_back(rule_for({webhook(server.url())}));
  Notifier notifier(dir.path(), config, {PublishMode::background});

  notifier.publish(failed_event());
  CHECK(server.answered() == 0);
  // The detached process delivers on its own; the bound is generous for a loaded machine.
  CHECK(eventually([&] { return server.answered() == 1; }));
  auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(Json::parse(requests[0].body)["notificationRule"] == "team");
}

TEST_CASE("notify: publish without a matching rule does nothing, and sync mode delivers before returning", "[notify]") {
  test::Scratch dir;
  Target file;
  file.type = TargetType::file;
  file.path = dir / "events.jsonl";
  NotifyConfig config;
  config.rules.push_back(rule_for({file}, "pipeline/web"));
  Notifier notifier(dir.path(), config, {PublishMode::sync});

  notifier.publish(failed_event("api"));
  CHECK_FALSE(std::filesystem::exists(dir / "events.jsonl"));
  notifier.publish(failed_event("web"));
  REQUIRE(std::filesystem::exists(dir / "events.jsonl"));
  CHECK(lines_of(dir.read("events.jsonl")).size() == 1);

  // CICD_NOTIFY_SYNC=1 makes a background notifier deliver in the call too (cron, tests).
  Notifier background(dir.path(), config, {PublishMode::background});
  ::setenv("CICD_NOTIFY_SYNC", "1", 1);
  background.publish(failed_event("web"));
  ::unsetenv("CICD_NOTIFY_SYNC");
  CHECK(lines_of(dir.read("events.jsonl")).size() == 2);
}

TEST_CASE("notify: rules match resources and event types by glob, and disabled rules never", "[notify]") {
  auto r = rule_for({}, "pipeline/web-*", {"codepipeline-pipeline-stage-execution-*", "codepipeline-pipeline-manual-approval-needed"});
  auto stage = failed_event("web-prod");
  stage.type = "codepipeline-pipeline-stage-execution-failed";
  CHECK(r.matches(stage));
  auto approval = stage;
  approval.type = "codepipeline-pipeline-manual-approval-needed";
  CHECK(r.matches(approval));
  CHECK_FALSE(r.matches(failed_event("web-prod")));  // an execution event: not listed
  auto other = stage;
  other.resource = "pipeline/api";
  CHECK_FALSE(r.matches(other));
  auto repo = stage;
  repo.resource = "repository/web-prod";
  CHECK_FALSE(r.matches(repo));

  auto every = rule_for({}, "*", {"*"});
  CHECK(every.matches(repo));
  every.status = RuleStatus::disabled;
  CHECK_FALSE(every.matches(repo));
}

TEST_CASE("notify: a valid rules file is read, and an absent one is no rules", "[notify]") {
  test::Scratch dir;
  auto empty = Notifier::load(dir.path());
  REQUIRE(empty);
  CHECK(empty->config().rules.empty());

  dir.write("notifications.yml", R"(rules:
  - name: team-failures
    resource: "pipeline/*"
    events: [codepipeline-pipeline-pipeline-execution-failed, codepipeline-pipeline-manual-approval-needed]
    status: ENABLED
    targets:
      - {type: webhook, url: "http://127.0.0.1:8080/hook", secret-env: HOOK_SECRET, timeout-seconds: 5}
      - {type: file, path: /var/log/cicd/events.jsonl}
      - {type: command, command: "notify-send \"$CICD_EVENT_TYPE\""}
  - name: all-repos
    resource: repository/*
    events: "*"
    status: DISABLED
    detail-type: BASIC
    targets: [{type: file, path: repos.jsonl}]
attempts: 4
backoff-seconds: 0.25
)");
  auto loaded = Notifier::load(dir.path());
  REQUIRE(loaded);
  auto& config = loaded->config();
  CHECK(config.attempts == 4);
  CHECK(config.initial_delay == 250ms);
  REQUIRE(config.rules.size() == 2);
  auto& team = config.rules[0];
  CHECK(team.name == "team-failures");
  CHECK(team.events.size() == 2);
  REQUIRE(team.targets.size() == 3);
  CHECK(team.targets[0].type == TargetType::webhook);
  CHECK(team.targets[0].secret_env == "HOOK_SECRET");
  CHECK(team.targets[0].timeout == 5000ms);
  CHECK(team.targets[1].path == "/var/log/cicd/events.jsonl");
  CHECK(team.targets[2].command == "notify-send \"$CICD_EVENT_TYPE\"");
  CHECK(config.rules[1].status == RuleStatus::disabled);
  CHECK(config.rules[1].detail == DetailType::basic);
  CHECK(config.rules[1].events == std::vector<std::string>{"*"});
}

TEST_CASE("notify: an invalid rules file reports every problem with its line and column", "[notify]") {
  test::Scratch dir;
  dir.write("notifications.yml", R"(rules:
  - name: team
    resource: "pipeline/*"
    events: [codepipeline-pipeline-pipeline-execution-faild, codepipeline-nothing-*]
    status: ON
    colour: red
    targets:
      - {type: webhook, secret: a, secret-env: B}
      - {type: pager, url: x}
      - {type: file, path: a.jsonl, url: "http://x"}
  - name: team
    resource: "repository/*"
    events: "*"
    targets: []
attempts: 0
)");
  auto loaded = Notifier::load(dir.path());
  REQUIRE_FALSE(loaded);
  auto& error = loaded.error();
  CHECK(error.kind == ErrorKind::invalid);
  auto file = (dir / "notifications.yml").string();
  CHECK(error.message == "invalid notification rules '" + file + "'");
  auto at = [&](std::string_view rest) { return file + ":" + std::string(rest); };
  std::vector<std::string> expected = {
      at("4:14: error: unknown event type 'codepipeline-pipeline-pipeline-execution-faild'; did you mean "
         "'codepipeline-pipeline-pipeline-execution-failed'?"),
      at("4:62: error: event pattern 'codepipeline-nothing-*' matches no event type"),
      at("5:13: error: unknown status 'ON'; expected ENABLED or DISABLED"),
      at("6:5: error: unknown key 'colour' in rule; expected name, resource, events, status, detail-type or targets"),
      at("8:9: error: missing 'url' in target"),
      at("8:9: error: a webhook takes 'secret' or 'secret-env', not both"),
      at("9:16: error: unknown target type 'pager'; expected command, file or webhook"),
      at("9:28: error: url must start with http:// or https://; got 'x'"),
      at("10:37: error: unknown key 'url' in target; expected type or path"),
      at("11:11: error: a rule named 'team' is already defined"),
      at("14:14: error: 'targets' must list at least one target"),
      at("15:11: error: 'attempts' must be from 1 to 10; got 0"),
  };
  for (auto& line : error.details) UNSCOPED_INFO(line);
  CHECK(error.details == expected);
}

TEST_CASE("notify: a rules file that is not YAML or not a mapping is reported at its position", "[notify]") {
  auto broken = parse_notification_rules("rules:\n  - name: [unclosed\n");
  CHECK_FALSE(broken.config);
  REQUIRE(broken.diagnostics.items().size() == 1);
  CHECK(broken.diagnostics.items()[0].position.line == 3);

  auto list = parse_notification_rules("- a\n- b\n");
  CHECK_FALSE(list.config);
  REQUIRE(list.diagnostics.items().size() == 1);
  CHECK(format_diagnostic("n.yml", list.diagnostics.items()[0]) ==
        "n.yml:1:1: error: the notification rules must be a mapping with 'rules'; got a list");

  auto typo = parse_notification_rules(
      "rules:\n  - {name: a, resource: pipelines/web, events: '*', targets: [{type: file, path: x}]}\n"
      "  - {name: b, resource: repository, events: '*', targets: [{type: file, path: x}]}\n");
  REQUIRE(typo.diagnostics.items().size() == 2);
  CHECK(format_diagnostic("n.yml", typo.diagnostics.items()[0]) ==
        "n.yml:2:25: error: resource 'pipelines/web' matches nothing: resources are pipeline/NAME and "
        "repository/NAME (globs allowed)");
  CHECK(format_diagnostic("n.yml", typo.diagnostics.items()[1]) ==
        "n.yml:3:25: error: resource 'repository' names no resource: write repository/NAME or repository/*");

  // An empty file, or "rules:" alone, is a file with no rules yet.
  REQUIRE(parse_notification_rules("").config);
  auto bare = parse_notification_rules("rules:\n");
  REQUIRE(bare.config);
  CHECK(bare.config->rules.empty());
}
