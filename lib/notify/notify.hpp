// Notifications (DESIGN.md section 3): state changes of pipelines and repositories, delivered to
// sinks the user lists in <home>/notifications.yml (cicd-notifications(5)): a command, a webhook,
// a JSON-lines file. Modelled on AWS CodeStar Notifications rules (Name, Resource, EventTypeIds,
// Targets, Status, DetailType).
//
// Delivery never fails its caller: a notification is a side effect of a pipeline, so a slow or
// broken sink must neither block nor fail it. Each target is attempted `attempts` times with
// exponential backoff; what still fails goes, with every attempt's error, to a dead-letter file
// (<home>/notify/dead-letter.jsonl) where a person or a cron job can find it.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd::notify {

// One state change. Rendered (event_json) in the shape of an Amazon EventBridge event:
//   {"version": "0", "id": UUID, "detail-type": "CodePipeline Pipeline Execution State Change",
//    "source": "aws.codepipeline", "account": "local", "time": TIME, "region": "local",
//    "resources": [RESOURCE], "eventTypeId": TYPE, "detail": DETAIL}
// "source" is aws.codepipeline for cpipeline and aws.codecommit for ccommit (so a script written
// for AWS's events matches ours), cicd.<source> for any other; "detail-type" is AWS's for the
// event's family; "eventTypeId" is the CodeStar Notifications event type id; a rule's
// notification adds "notificationRule": its name.
struct NotifyEvent {
  std::string type;      // "codepipeline-pipeline-pipeline-execution-failed" (event_type_ids())
  std::string source;    // "cpipeline", "ccommit"
  std::string resource;  // "pipeline/NAME", "repository/NAME"
  std::string time;      // ISO 8601; empty: now
  Json detail = Json::object();
  std::string id;        // empty: a new UUID when rendered
};

// The event with its id (a new UUID) and time (now) filled in when empty: done once per event,
// so that every attempt and every rule's delivery carry the same ones.
NotifyEvent stamped(NotifyEvent event);

// The CodeStar Notifications event type ids we know (CodePipeline's and CodeCommit's, as AWS's
// Developer Tools console guide lists them), sorted.
const std::vector<std::string_view>& event_type_ids();
bool is_known_event_type(std::string_view id);

// "Amazon EventBridge detail-type" of an event type id ("CodePipeline Stage Execution State Change").
std::string detail_type_of(std::string_view event_type);

enum class DetailType { full, basic };  // basic: only the scalar fields of `detail`

// The event's JSON (see NotifyEvent). `rule`: the rule's name, when there is one.
Json event_json(const NotifyEvent& event, DetailType detail = DetailType::full,
                std::string_view rule = {});

enum class TargetType { command, file, webhook };
std::string_view target_type_name(TargetType type);

struct Target {
  TargetType type = TargetType::file;
  // command: run with `bash -c` (it is the user's shell command); event JSON on stdin.
  std::string command;
  // file: a JSON-lines file, one event per line (relative paths are relative to the home).
  std::filesystem::path path;
  // webhook: POSTed to, with X-Cicd-Event and, with a secret, X-Cicd-Signature-256.
  std::string url;
  std::string secret;      // given in the file (discouraged: prefer secret_env)
  std::string secret_env;  // the environment variable holding the secret, read at delivery
  std::chrono::milliseconds timeout{0};  // command and webhook; 0: the type's default
};

// The target as JSON for reports and the dead-letter file: never the secret itself.
Json target_json(const Target& target);

struct DeliveryOptions {
  int attempts = 3;
  // Before the second attempt; doubled before each further one.
  std::chrono::milliseconds initial_delay{1000};
  // Where targets that failed every attempt are written; empty: nowhere.
  std::filesystem::path dead_letter;
  // Relative file targets resolve against this.
  std::filesystem::path home;
  DetailType detail = DetailType::full;
  std::string rule;  // the rule's name, in the event and the dead letter
};

struct Attempt {
  std::string time;
  std::string error;  // empty: it succeeded
};

struct TargetReport {
  Json target;  // target_json
  bool delivered = false;
  std::vector<Attempt> attempts;
  bool dead_lettered = false;
};

// Delivers one event to each target, synchronously: up to options.attempts tries each, with
// exponential backoff; a target that failed them all gets a dead-letter line. Never throws.
std::vector<TargetReport> deliver(const NotifyEvent& event, const std::vector<Target>& targets,
                                  const DeliveryOptions& options);

// Appends one line (a '\n' is added) to a JSON-lines file, safely against concurrent writers in
// other processes: O_APPEND, an exclusive flock for the write, the whole line in one write(2).
Status append_json_line(const std::filesystem::path& path, const Json& value);

// ---- rules: <home>/notifications.yml ----

enum class RuleStatus { enabled, disabled };

struct Rule {
  std::string name;
  std::string resource;             // glob over "pipeline/NAME", "repository/NAME"
  std::vector<std::string> events;  // ids or globs over them; "*" is every event
  RuleStatus status = RuleStatus::enabled;
  DetailType detail = DetailType::full;
  std::vector<Target> targets;

  bool matches(const NotifyEvent& event) const;
};

struct NotifyConfig {
  std::vector<Rule> rules;
  int attempts = 3;
  std::chrono::milliseconds initial_delay{1000};  // `backoff-seconds`
};

// The pure parser (text in, model and positioned diagnostics out): every problem at once.
struct ParsedRules {
  std::optional<NotifyConfig> config;  // set when there is no error
  Diagnostics diagnostics;
};
ParsedRules parse_notification_rules(std::string_view text);

std::filesystem::path rules_path(const std::filesystem::path& home);        // <home>/notifications.yml
std::filesystem::path dead_letter_path(const std::filesystem::path& home);  // <home>/notify/dead-letter.jsonl

enum class PublishMode { background, sync };

struct NotifierOptions {
  // background: publish() forks a detached process to deliver; sync: it delivers itself.
  // CICD_NOTIFY_SYNC=1 in the environment makes publish() deliver itself whatever the mode.
  PublishMode mode = PublishMode::background;
};

// The rules of one home, ready to publish events to.
class Notifier {
 public:
  Notifier() = default;
  Notifier(std::filesystem::path home, NotifyConfig config, NotifierOptions options = {});

  // Reads <home>/notifications.yml: an absent file is a notifier without rules; an invalid one is
  // Error{invalid} with one "FILE:LINE:COL: error: ..." detail per problem. Callers report that
  // error as a warning and go on without notifications: a typo in the rules must not stop a
  // pipeline.
  static Result<Notifier> load(const std::filesystem::path& home, NotifierOptions options = {});

  // The rules that match `event` (enabled, resource and event type matched).
  std::vector<const Rule*> matching(const NotifyEvent& event) const;

  // Returns at once. Nothing matches: nothing happens (no process is started; this is called on
  // every state change). Else, in background mode, a detached process (double fork, setsid, its
  // standard streams on /dev/null, no descriptor of ours but what it needs) delivers to the
  // matching rules' targets; in sync mode, this call does. Never throws, never fails.
  void publish(const NotifyEvent& event) const;

  // The same delivery, synchronously, with its reports (sync mode, tests, cron).
  std::vector<TargetReport> deliver_now(const NotifyEvent& event) const;

  const NotifyConfig& config() const { return m_config; }
  PublishMode mode() const { return m_options.mode; }

 private:
  std::filesystem::path m_home;
  NotifyConfig m_config;
  NotifierOptions m_options;
};

}  // namespace cicd::notify
