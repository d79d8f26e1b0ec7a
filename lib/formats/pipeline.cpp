// The pipeline declaration's validator: CodePipeline's rules for create-pipeline (structure, names,
// run orders, artifacts flowing only forwards, per-provider artifact counts, namespaces and
// variables produced strictly earlier, what only V2 pipelines have), reported all at once.
#include "formats/pipeline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "util/strings.hpp"

namespace cicd {

namespace {

using Words = std::span<const std::string_view>;

constexpr std::array<std::string_view, 14> k_declaration_keys = {
    "name",     "roleArn",       "artifactStore", "artifactStores", "stages",    "version", "executionMode",
    "pipelineType", "variables", "triggers",      "disableInboundStageTransitions", "restartExecutionOnUpdate",
    "tags",     "metadata"};
constexpr std::array<std::string_view, 6> k_stage_keys = {"name", "blockers", "actions", "onFailure", "onSuccess",
                                                          "beforeEntry"};
constexpr std::array<std::string_view, 14> k_action_keys = {
    "name",   "actionTypeId", "runOrder", "configuration", "commands", "outputArtifacts", "inputArtifacts",
    "outputVariables", "roleArn", "region", "namespace", "timeoutInMinutes", "environmentVariables", "localCommand"};
constexpr std::array<std::string_view, 4> k_type_keys = {"category", "owner", "provider", "version"};
constexpr std::array<std::string_view, 7> k_categories = {"Source", "Build",    "Test",   "Deploy",
                                                         "Approval", "Invoke", "Compute"};
constexpr std::array<std::string_view, 3> k_owners = {"AWS", "ThirdParty", "Custom"};
constexpr std::array<std::string_view, 3> k_execution_modes = {"SUPERSEDED", "QUEUED", "PARALLEL"};
constexpr std::array<std::string_view, 2> k_pipeline_types = {"V1", "V2"};

// The action types CodePipeline has (owner AWS or ThirdParty), with their artifact counts.
struct KnownType {
  std::string_view owner, category, provider;
  int min_in, max_in, min_out, max_out;
  // Variables the action produces under its namespace (empty: whatever it decides, e.g. CodeBuild's
  // exported variables or a CloudFormation stack's outputs).
  std::initializer_list<std::string_view> variables = {};
};

const KnownType k_known_types[] = {
    {"AWS", "Source", "S3", 0, 0, 1, 1, {"ETag", "VersionId", "ObjectKey"}},
    {"AWS", "Source", "CodeCommit", 0, 0, 1, 1,
     {"AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate", "RepositoryName"}},
    {"AWS", "Source", "ECR", 0, 0, 1, 1, {"RegistryId", "RepositoryName", "ImageTag", "ImageDigest", "ImageURI"}},
    {"AWS", "Source", "CodeStarSourceConnection", 0, 0, 1, 1,
     {"AuthorDate", "BranchName", "CommitId", "CommitMessage", "ConnectionArn", "FullRepositoryName", "ProviderType"}},
    {"ThirdParty", "Source", "CodeStarSourceConnection", 0, 0, 1, 1,
     {"AuthorDate", "BranchName", "CommitId", "CommitMessage", "ConnectionArn", "FullRepositoryName", "ProviderType"}},
    {"ThirdParty", "Source", "GitHub", 0, 0, 1, 1,
     {"AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate", "CommitUrl", "RepositoryName"}},
    {"AWS", "Build", "CodeBuild", 1, 5, 0, 5},
    {"AWS", "Build", "ECRBuildAndPublish", 1, 1, 0, 0},
    {"AWS", "Test", "CodeBuild", 1, 5, 0, 5},
    {"AWS", "Test", "DeviceFarm", 1, 1, 0, 0},
    {"AWS", "Approval", "Manual", 0, 0, 0, 0, {"ApprovalSummary"}},
    {"AWS", "Deploy", "S3", 1, 1, 0, 0},
    {"AWS", "Deploy", "CloudFormation", 0, 10, 0, 1},
    {"AWS", "Deploy", "CloudFormationStackSet", 1, 10, 0, 0},
    {"AWS", "Deploy", "CloudFormationStackInstances", 0, 10, 0, 0},
    {"AWS", "Deploy", "CodeDeploy", 1, 1, 0, 0},
    {"AWS", "Deploy", "CodeDeployToECS", 1, 5, 0, 0},
    {"AWS", "Deploy", "ECS", 1, 1, 0, 0},
    {"AWS", "Deploy", "EC2", 1, 1, 0, 0},
    {"AWS", "Deploy", "EKS", 0, 1, 0, 0},
    {"AWS", "Deploy", "ElasticBeanstalk", 1, 1, 0, 0},
    {"AWS", "Deploy", "OpsWorks", 1, 1, 0, 0},
    {"AWS", "Deploy", "ServiceCatalog", 1, 1, 0, 0},
    {"AWS", "Deploy", "AppConfig", 1, 1, 0, 0},
    {"AWS", "Deploy", "InspectorScan", 0, 1, 0, 1},
    {"ThirdParty", "Deploy", "AlexaSkillsKit", 1, 2, 0, 0},
    {"AWS", "Invoke", "Lambda", 0, 5, 0, 5},
    {"AWS", "Invoke", "StepFunctions", 0, 1, 0, 1, {"StateMachineArn", "ExecutionArn"}},
    {"AWS", "Invoke", "InspectorScan", 0, 1, 0, 1},
    {"AWS", "Compute", "Commands", 1, 10, 0, 1},
};

const KnownType* known_type(const ActionTypeId& t) {
  for (const auto& k : k_known_types)
    if (k.owner == t.owner && k.category == t.category && k.provider == t.provider) return &k;
  return nullptr;
}

bool matches(std::string_view s, size_t min, size_t max, std::string_view extra) {
  if (s.size() < min || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

using yaml::escape_pointer;

std::string json_type_name(const Json& v) {
  if (v.is_object()) return "a structure";
  if (v.is_array()) return "a list";
  if (v.is_string()) return "text";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  return "empty";
}

// Reads the declaration's JSON, reporting at the positions the document had.
class Reader {
 public:
  Reader(const yaml::PositionedJson& doc, const PipelineCheckOptions& options, Diagnostics& d)
      : m_doc(doc), m_options(options), m_d(d) {}

  void error(const std::string& pointer, std::string message) { m_d.error(m_doc.at(pointer), std::move(message)); }
  void warning(const std::string& pointer, std::string message) { m_d.warning(m_doc.at(pointer), std::move(message)); }
  void note(const std::string& pointer, std::string message) { m_d.note(m_doc.at(pointer), std::move(message)); }
  Position at(const std::string& pointer) const { return m_doc.at(pointer); }

  // A value only AWS knows (a template's !GetAtt): present, but its content cannot be checked.
  bool unresolved(const std::string& pointer) const { return m_options.unresolved.contains(pointer); }

  void keys(const Json& object, const std::string& pointer, Words known, std::string_view where) {
    for (auto& [k, v] : object.items()) {
      if (k == "__type") continue;  // the legacy type tag of old API answers: "ActionTypeId"
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      error(pointer + "/" + escape_pointer(k), fmt::format("unknown field '{}' in {}{}", k, where, did_you_mean(k, known)));
    }
  }

  const Json* member(const Json& object, std::string_view key) {
    auto it = object.find(std::string(key));
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }

  // A text value; numbers and booleans (a CloudFormation template's unquoted `Version: 1`) read as
  // their text, as CloudFormation passes them.
  std::optional<std::string> text(const Json& object, const std::string& pointer, std::string_view key,
                                  std::string_view where, bool required) {
    auto child = pointer + "/" + escape_pointer(key);
    const Json* v = member(object, key);
    if (!v) {
      if (required) error(pointer, fmt::format("missing '{}' in {}", key, where));
      return std::nullopt;
    }
    if (v->is_string()) return v->get<std::string>();
    if (v->is_number_integer()) return std::to_string(v->get<long long>());
    if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
    if (v->is_number()) return v->dump();
    if (!unresolved(child)) error(child, fmt::format("'{}' must be text, not {}", key, json_type_name(*v)));
    return std::nullopt;
  }

  std::optional<long long> integer(const Json& object, const std::string& pointer, std::string_view key) {
    auto child = pointer + "/" + escape_pointer(key);
    const Json* v = member(object, key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<long long>();
    if (v->is_string()) {
      if (auto n = parse_uint(v->get<std::string>()); n && *n < (1LL << 31)) return *n;
    }
    if (!unresolved(child)) error(child, fmt::format("'{}' must be a whole number, not {}", key, json_type_name(*v)));
    return std::nullopt;
  }

  const Json* array(const Json& object, const std::string& pointer, std::string_view key, bool required,
                    std::string_view where) {
    auto child = pointer + "/" + escape_pointer(key);
    const Json* v = member(object, key);
    if (!v) {
      if (required) error(pointer, fmt::format("missing '{}' in {}", key, where));
      return nullptr;
    }
    if (v->is_array()) return v;
    if (!unresolved(child)) error(child, fmt::format("'{}' must be a list, not {}", key, json_type_name(*v)));
    return nullptr;
  }

  const Json* object(const Json& parent, const std::string& pointer, std::string_view key, bool required,
                     std::string_view where) {
    auto child = pointer + "/" + escape_pointer(key);
    const Json* v = member(parent, key);
    if (!v) {
      if (required) error(pointer, fmt::format("missing '{}' in {}", key, where));
      return nullptr;
    }
    if (v->is_object()) return v;
    if (!unresolved(child)) error(child, fmt::format("'{}' must be a structure, not {}", key, json_type_name(*v)));
    return nullptr;
  }

  // A list of text ("commands", "outputVariables", glob lists).
  std::vector<std::string> texts(const Json& object, const std::string& pointer, std::string_view key) {
    std::vector<std::string> out;
    auto child = pointer + "/" + escape_pointer(key);
    const Json* list = array(object, pointer, key, false, "");
    if (!list) return out;
    for (size_t i = 0; i < list->size(); ++i) {
      const Json& item = (*list)[i];
      auto at_item = fmt::format("{}/{}", child, i);
      if (item.is_string()) out.push_back(item.get<std::string>());
      else if (item.is_number() || item.is_boolean()) out.push_back(item.dump());
      else if (!unresolved(at_item)) error(at_item, fmt::format("each of '{}' must be text, not {}", key, json_type_name(item)));
    }
    return out;
  }

  // A name checked against CodePipeline's pattern for `what`.
  void check_name(const std::string& value, const std::string& pointer, std::string_view what, size_t max,
                  std::string_view extra, std::string_view allowed) {
    if (unresolved(pointer)) return;
    if (!matches(value, 1, max, extra))
      error(pointer, fmt::format("invalid {} '{}': 1 to {} characters, {}", what, value, max, allowed));
  }

 private:
  const yaml::PositionedJson& m_doc;
  const PipelineCheckOptions& m_options;
  Diagnostics& m_d;
};

constexpr std::string_view k_name_chars = ".@-_";
constexpr std::string_view k_name_allowed = "letters, digits and . @ - _";

// What makes a pipeline V2, for the message that says so.
struct V2Use {
  std::string what;
  std::string pointer;
};

class Checker {
 public:
  Checker(const yaml::PositionedJson& doc, const PipelineCheckOptions& options, Diagnostics& d)
      : m_doc(doc), m_options(options), m_r(doc, options, d) {}

  std::optional<Pipeline> run() {
    const Json& root = m_doc.value;
    if (!root.is_object()) {
      m_r.error("", fmt::format("a pipeline declaration must be a structure, not {}", json_type_name(root)));
      return std::nullopt;
    }
    m_r.keys(root, "", k_declaration_keys, "the pipeline");
    // 1. The pipeline's own fields.
    if (auto name = m_r.text(root, "", "name", "the pipeline", m_options.default_name.empty())) {
      m_p.name = *name;
      m_r.check_name(*name, "/name", "pipeline name", 100, k_name_chars, k_name_allowed);
    } else {
      m_p.name = m_options.default_name;
    }
    if (auto role = m_r.text(root, "", "roleArn", "the pipeline", false)) m_p.role_arn = *role;
    if (auto v = m_r.integer(root, "", "version")) {
      if (*v < 1) m_r.error("/version", fmt::format("'version' must be 1 or more; got {}", *v));
      else m_p.version = static_cast<int>(*v);
    }
    check_artifact_store(root);
    std::optional<std::string> declared_type;
    if (auto t = m_r.text(root, "", "pipelineType", "the pipeline", false)) {
      if (m_r.unresolved("/pipelineType")) {
      } else if (std::find(k_pipeline_types.begin(), k_pipeline_types.end(), *t) == k_pipeline_types.end())
        m_r.error("/pipelineType", fmt::format("unknown pipelineType '{}'{}", *t, did_you_mean(*t, k_pipeline_types)));
      else declared_type = *t;
    }
    read_execution_mode(root);
    read_variables(root);
    // 2. Stages and actions, then what connects them (artifacts, namespaces, variables).
    read_stages(root);
    read_triggers(root);
    check_artifacts();
    check_namespaces_and_references();
    // 3. V1 or V2: what only V2 has makes it V2, unless the declaration says V1.
    if (declared_type == "V1") {
      for (auto& use : m_v2_uses)
        m_r.error(use.pointer, fmt::format("{} needs a V2 pipeline, and this one says pipelineType V1", use.what));
      m_p.pipeline_type = "V1";
    } else if (declared_type == "V2" || !m_v2_uses.empty()) {
      m_p.pipeline_type = "V2";
    }
    m_p.declaration = normalized(root);
    return m_p;
  }

 private:
  void v2(std::string what, std::string pointer) { m_v2_uses.push_back({std::move(what), std::move(pointer)}); }

  void check_artifact_store(const Json& root) {
    // The store is this machine's here; a declaration's S3 bucket is kept for the record.
    if (const Json* store = m_r.object(root, "", "artifactStore", false, "the pipeline")) {
      if (auto type = m_r.text(*store, "/artifactStore", "type", "the artifact store", false);
          type && *type != "S3" && !m_r.unresolved("/artifactStore/type"))
        m_r.error("/artifactStore/type", fmt::format("artifact store type '{}': the only type is S3", *type));
    }
    if (root.contains("artifactStore") && root.contains("artifactStores") && !root["artifactStores"].is_null())
      m_r.error("/artifactStores", "give either 'artifactStore' or 'artifactStores' (one per region), not both");
  }

  void read_execution_mode(const Json& root) {
    auto mode = m_r.text(root, "", "executionMode", "the pipeline", false);
    if (!mode || m_r.unresolved("/executionMode")) return;
    if (*mode == "SUPERSEDED") m_p.execution_mode = ExecutionMode::superseded;
    else if (*mode == "QUEUED") m_p.execution_mode = ExecutionMode::queued;
    else if (*mode == "PARALLEL") m_p.execution_mode = ExecutionMode::parallel;
    else {
      m_r.error("/executionMode", fmt::format("unknown executionMode '{}'{}", *mode, did_you_mean(*mode, k_execution_modes)));
      return;
    }
    if (m_p.execution_mode != ExecutionMode::superseded)
      v2(fmt::format("executionMode {}", *mode), "/executionMode");
  }

  void read_variables(const Json& root) {
    const Json* list = m_r.array(root, "", "variables", false, "the pipeline");
    if (!list) return;
    if (!list->empty()) v2("pipeline variables", "/variables");
    if (list->size() > 50) m_r.error("/variables", fmt::format("at most 50 pipeline variables; there are {}", list->size()));
    static constexpr std::array<std::string_view, 3> keys = {"name", "defaultValue", "description"};
    for (size_t i = 0; i < list->size(); ++i) {
      auto at = fmt::format("/variables/{}", i);
      const Json& v = (*list)[i];
      if (!v.is_object()) {
        m_r.error(at, fmt::format("a pipeline variable must be a structure with a name, not {}", json_type_name(v)));
        continue;
      }
      m_r.keys(v, at, keys, "a pipeline variable");
      PipelineVariable var;
      if (auto n = m_r.text(v, at, "name", "a pipeline variable", true)) {
        var.name = *n;
        m_r.check_name(*n, at + "/name", "variable name", 128, "@-_", "letters, digits and @ - _");
        for (auto& other : m_p.variables)
          if (other.name == *n) m_r.error(at + "/name", fmt::format("pipeline variable '{}' is declared twice", *n));
      }
      if (auto dv = m_r.text(v, at, "defaultValue", "", false)) {
        var.default_value = *dv;
        if (dv->size() > 1000) m_r.error(at + "/defaultValue", "a variable's default value is at most 1000 characters");
      }
      if (auto desc = m_r.text(v, at, "description", "", false)) var.description = *desc;
      m_p.variables.push_back(std::move(var));
    }
  }

  void read_stages(const Json& root) {
    const Json* stages = m_r.array(root, "", "stages", true, "the pipeline");
    if (!stages) return;
    if (stages->size() < 2)
      m_r.error("/stages", fmt::format("a pipeline needs at least 2 stages (a source stage and one more); it has {}",
                                       stages->size()));
    if (stages->size() > 50) m_r.error("/stages", fmt::format("a pipeline has at most 50 stages; it has {}", stages->size()));
    for (size_t i = 0; i < stages->size(); ++i) read_stage((*stages)[i], fmt::format("/stages/{}", i), i);
  }

  void read_stage(const Json& s, const std::string& at, size_t index) {
    PipelineStage stage;
    stage.pointer = at;
    stage.position = m_r.at(at);
    if (!s.is_object()) {
      if (!m_r.unresolved(at)) m_r.error(at, fmt::format("a stage must be a structure with a name and actions, not {}", json_type_name(s)));
      return;
    }
    m_r.keys(s, at, k_stage_keys, "a stage");
    std::string label = fmt::format("stage {}", index + 1);
    if (auto n = m_r.text(s, at, "name", label, true)) {
      stage.name = *n;
      label = fmt::format("stage '{}'", *n);
      m_r.check_name(*n, at + "/name", "stage name", 100, k_name_chars, k_name_allowed);
      if (!m_r.unresolved(at + "/name"))
        for (auto& other : m_p.stages)
          if (other.name == *n)
            m_r.error(at + "/name", fmt::format("stage name '{}' is used twice (first at line {})", *n, other.position.line));
    }
    if (const Json* actions = m_r.array(s, at, "actions", true, label)) {
      if (actions->empty()) m_r.error(at + "/actions", fmt::format("{} has no actions", label));
      if (actions->size() > 50) m_r.error(at + "/actions", fmt::format("{} has more than 50 actions", label));
      for (size_t i = 0; i < actions->size(); ++i) {
        auto action = read_action((*actions)[i], fmt::format("{}/actions/{}", at, i), stage);
        if (action) stage.actions.push_back(std::move(*action));
      }
    }
    // Source actions are the first stage's, and only its.
    for (auto& a : stage.actions) {
      bool source = a.type.category == "Source";
      if (index == 0 && !source && !a.type.category.empty())
        m_r.error(a.pointer + "/actionTypeId/category",
                  fmt::format("the first stage holds only source actions; action '{}' is a {} action", a.name, a.type.category));
      if (index > 0 && source)
        m_r.error(a.pointer + "/actionTypeId/category",
                  fmt::format("source actions belong in the first stage only; action '{}' is in {}", a.name, label));
    }
    if (const Json* blockers = m_r.array(s, at, "blockers", false, label); blockers && !blockers->empty())
      m_r.warning(at + "/blockers", "stage blockers are reserved by CodePipeline and mean nothing here");
    stage.on_failure = read_outcome(s, at, "onFailure", {"ROLLBACK", "FAIL", "RETRY", "SKIP"}, {"ROLLBACK"});
    stage.on_success = read_outcome(s, at, "onSuccess", {}, {"ROLLBACK", "FAIL"});
    stage.before_entry = read_outcome(s, at, "beforeEntry", {}, {"FAIL", "SKIP"});
    m_p.stages.push_back(std::move(stage));
  }

  StageOutcome read_outcome(const Json& s, const std::string& at, std::string_view key,
                            std::initializer_list<std::string_view> results,
                            std::initializer_list<std::string_view> condition_results) {
    StageOutcome out;
    const Json* o = m_r.object(s, at, key, false, "");
    if (!o) return out;
    auto where = at + "/" + std::string(key);
    v2(fmt::format("a stage's '{}'", key), where);
    std::vector<std::string_view> outcome_keys = {"conditions"};
    if (results.size()) outcome_keys.insert(outcome_keys.end(), {"result", "retryConfiguration"});
    m_r.keys(*o, where, outcome_keys, std::string(key));
    std::vector<std::string_view> allowed(results), condition_allowed(condition_results);
    if (auto r = m_r.text(*o, where, "result", key, false)) {
      out.result = *r;
      if (std::find(allowed.begin(), allowed.end(), *r) == allowed.end())
        m_r.error(where + "/result", fmt::format("'{}' is not a result of {}{}", *r, key, did_you_mean(*r, allowed)));
    }
    if (const Json* retry = m_r.object(*o, where, "retryConfiguration", false, "")) {
      static constexpr std::array<std::string_view, 1> retry_keys = {"retryMode"};
      static constexpr std::array<std::string_view, 2> modes = {"ALL_ACTIONS", "FAILED_ACTIONS"};
      m_r.keys(*retry, where + "/retryConfiguration", retry_keys, "retryConfiguration");
      if (auto mode = m_r.text(*retry, where + "/retryConfiguration", "retryMode", "retryConfiguration", false)) {
        out.retry_mode = *mode;
        if (std::find(modes.begin(), modes.end(), *mode) == modes.end())
          m_r.error(where + "/retryConfiguration/retryMode",
                    fmt::format("unknown retryMode '{}'{}", *mode, did_you_mean(*mode, modes)));
      }
      if (out.result != "RETRY")
        m_r.error(where + "/retryConfiguration", "retryConfiguration goes with result RETRY");
    }
    if (const Json* conditions = m_r.array(*o, where, "conditions", false, "")) {
      if (conditions->size() > 1 && key == "onFailure")
        m_r.error(where + "/conditions", "onFailure takes one condition");
      for (size_t i = 0; i < conditions->size(); ++i) {
        auto cat = fmt::format("{}/conditions/{}", where, i);
        const Json& c = (*conditions)[i];
        if (!c.is_object()) {
          m_r.error(cat, fmt::format("a condition must be a structure with a result and rules, not {}", json_type_name(c)));
          continue;
        }
        static constexpr std::array<std::string_view, 2> condition_keys = {"result", "rules"};
        m_r.keys(c, cat, condition_keys, "a condition");
        StageCondition condition;
        if (auto r = m_r.text(c, cat, "result", "a condition", false)) {
          condition.result = *r;
          if (std::find(condition_allowed.begin(), condition_allowed.end(), *r) == condition_allowed.end())
            m_r.error(cat + "/result", fmt::format("a condition of {} cannot have result '{}'; it can be {}", key, *r,
                                                   one_of(condition_allowed)));
        }
        if (const Json* rules = m_r.array(c, cat, "rules", true, "a condition")) {
          if (rules->empty() || rules->size() > 5)
            m_r.error(cat + "/rules", fmt::format("a condition has 1 to 5 rules; this one has {}", rules->size()));
          for (size_t j = 0; j < rules->size(); ++j) check_rule((*rules)[j], fmt::format("{}/rules/{}", cat, j));
          condition.rules = *rules;
        }
        out.conditions.push_back(std::move(condition));
      }
    }
    return out;
  }

  void check_rule(const Json& rule, const std::string& at) {
    static constexpr std::array<std::string_view, 8> rule_keys = {
        "name", "ruleTypeId", "configuration", "inputArtifacts", "roleArn", "region", "timeoutInMinutes", "commands"};
    static constexpr std::array<std::string_view, 5> providers = {"CloudWatchAlarm", "Commands", "DeploymentWindow",
                                                                  "LambdaInvoke", "VariableCheck"};
    if (!rule.is_object()) {
      m_r.error(at, fmt::format("a rule must be a structure, not {}", json_type_name(rule)));
      return;
    }
    m_r.keys(rule, at, rule_keys, "a rule");
    if (auto n = m_r.text(rule, at, "name", "a rule", true))
      m_r.check_name(*n, at + "/name", "rule name", 100, k_name_chars, k_name_allowed);
    if (const Json* type = m_r.object(rule, at, "ruleTypeId", true, "a rule")) {
      m_r.keys(*type, at + "/ruleTypeId", k_type_keys, "ruleTypeId");
      if (auto c = m_r.text(*type, at + "/ruleTypeId", "category", "ruleTypeId", true); c && *c != "Rule")
        m_r.error(at + "/ruleTypeId/category", fmt::format("a rule's category is 'Rule', not '{}'", *c));
      if (auto p = m_r.text(*type, at + "/ruleTypeId", "provider", "ruleTypeId", true);
          p && std::find(providers.begin(), providers.end(), *p) == providers.end())
        m_r.error(at + "/ruleTypeId/provider", fmt::format("unknown rule provider '{}'{}", *p, did_you_mean(*p, providers)));
    }
  }

  std::optional<PipelineAction> read_action(const Json& a, const std::string& at, const PipelineStage& stage) {
    if (!a.is_object()) {
      if (!m_r.unresolved(at))
        m_r.error(at, fmt::format("an action must be a structure with a name and an actionTypeId, not {}", json_type_name(a)));
      return std::nullopt;
    }
    PipelineAction action;
    action.pointer = at;
    action.position = m_r.at(at);
    m_r.keys(a, at, k_action_keys, "an action");
    std::string label = "an action";
    if (auto n = m_r.text(a, at, "name", "an action", true)) {
      action.name = *n;
      label = fmt::format("action '{}'", *n);
      m_r.check_name(*n, at + "/name", "action name", 100, k_name_chars, k_name_allowed);
      if (!m_r.unresolved(at + "/name"))
        for (auto& other : stage.actions)
          if (other.name == *n)
            m_r.error(at + "/name", fmt::format("action name '{}' is used twice in stage '{}' (first at line {})", *n,
                                                stage.name, other.position.line));
    }
    read_type(a, at, label, action);
    if (auto order = m_r.integer(a, at, "runOrder")) {
      if (*order < 1 || *order > 999)
        m_r.error(at + "/runOrder", fmt::format("runOrder must be between 1 and 999; got {}", *order));
      else action.run_order = static_cast<int>(*order);
    }
    read_configuration(a, at, action);
    action.commands = m_r.texts(a, at, "commands");
    action.output_variables = m_r.texts(a, at, "outputVariables");
    bool commands_action = action.type.category == "Compute" && action.type.provider == "Commands";
    if (commands_action) {
      v2("a Commands action", at + "/actionTypeId");
      if (action.commands.empty() && !m_r.unresolved(at + "/commands"))
        m_r.error(at, fmt::format("{} (Compute/Commands) needs 'commands', 1 to 50 of them", label));
      if (action.commands.size() > 50) m_r.error(at + "/commands", "at most 50 commands");
      if (action.output_variables.size() > 15) m_r.error(at + "/outputVariables", "at most 15 output variables");
    } else {
      if (a.contains("commands")) m_r.error(at + "/commands", "'commands' belongs to Compute/Commands actions");
      if (a.contains("outputVariables"))
        m_r.error(at + "/outputVariables", "'outputVariables' belongs to Compute/Commands actions");
    }
    action.inputs = read_artifacts(a, at, "inputArtifacts", commands_action);
    action.outputs = read_artifacts(a, at, "outputArtifacts", commands_action);
    if (auto ns = m_r.text(a, at, "namespace", label, false)) {
      action.name_space = *ns;
      m_r.check_name(*ns, at + "/namespace", "namespace", 100, "@-_", "letters, digits and @ - _");
      if (*ns == "codepipeline" || *ns == "variables")
        m_r.error(at + "/namespace", fmt::format("namespace '{}' is CodePipeline's own", *ns));
    }
    if (auto role = m_r.text(a, at, "roleArn", label, false)) action.role_arn = *role;
    if (auto command = m_r.text(a, at, "localCommand", label, false)) {
      action.local_command = *command;
      if (command->empty()) m_r.error(at + "/localCommand", "'localCommand' is empty");
    }
    if (auto region = m_r.text(a, at, "region", label, false)) action.region = *region;
    if (auto t = m_r.integer(a, at, "timeoutInMinutes")) {
      if (action.type.category != "Approval" && !commands_action)
        m_r.error(at + "/timeoutInMinutes", "'timeoutInMinutes' belongs to Approval actions");
      else if (*t < 5 || *t > 86400)
        m_r.error(at + "/timeoutInMinutes", fmt::format("timeoutInMinutes must be between 5 and 86400; got {}", *t));
      else action.timeout_in_minutes = static_cast<int>(*t);
    }
    check_counts(action, at, label);
    if (m_options.warn_without_local_runner && !action.type.provider.empty() && !has_local_runner(action.type) &&
        !a.contains("localCommand"))
      m_r.warning(at + "/actionTypeId",
                  fmt::format("{} ({}/{}/{}) has no local runner: `cpipeline start` needs a command for it "
                              "(--action-override '{}=COMMAND' or 'localCommand' in the stored definition)",
                              label, action.type.owner, action.type.category, action.type.provider, action.name));
    return action;
  }

  void read_type(const Json& a, const std::string& at, const std::string& label, PipelineAction& action) {
    const Json* type = m_r.object(a, at, "actionTypeId", true, label);
    if (!type) return;
    auto tat = at + "/actionTypeId";
    m_r.keys(*type, tat, k_type_keys, "actionTypeId");
    auto field = [&](std::string_view key, Words allowed) -> std::string {
      auto v = m_r.text(*type, tat, key, "actionTypeId", true);
      if (!v) return "";
      auto p = tat + "/" + std::string(key);
      if (m_r.unresolved(p)) return *v;
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *v) == allowed.end())
        m_r.error(p, fmt::format("unknown action {} '{}'{}", key, *v, did_you_mean(*v, allowed)));
      return *v;
    };
    action.type.category = field("category", k_categories);
    action.type.owner = field("owner", k_owners);
    action.type.provider = field("provider", {});
    action.type.version = field("version", {});
    if (!action.type.provider.empty())
      m_r.check_name(action.type.provider, tat + "/provider", "provider", 35, "-_", "letters, digits, - and _");
    if (!action.type.version.empty())
      m_r.check_name(action.type.version, tat + "/version", "action type version", 9, "-_", "letters, digits, - and _");
    // CodePipeline knows each AWS action type; a ThirdParty one may be a partner's, a Custom one anything.
    if (action.type.owner == "AWS" && !action.type.category.empty() && !action.type.provider.empty() &&
        !m_r.unresolved(tat + "/provider") && !known_type(action.type)) {
      std::vector<std::string_view> providers;
      for (const auto& k : k_known_types)
        if (k.owner == "AWS" && k.category == action.type.category) providers.push_back(k.provider);
      std::string also;
      for (const auto& k : k_known_types)
        if (k.owner == "AWS" && k.provider == action.type.provider) {
          also = fmt::format(" ({} is a {} action)", k.provider, k.category);
          break;
        }
      m_r.error(tat + "/provider", fmt::format("CodePipeline has no action type AWS/{}/{}{}{}", action.type.category,
                                               action.type.provider, also,
                                               also.empty() ? did_you_mean(action.type.provider, providers) : ""));
    }
  }

  void read_configuration(const Json& a, const std::string& at, PipelineAction& action) {
    const Json* config = m_r.object(a, at, "configuration", false, "");
    if (!config) return;
    if (config->size() > 200) m_r.error(at + "/configuration", "an action's configuration has at most 200 keys");
    for (auto& [k, v] : config->items()) {
      auto p = at + "/configuration/" + escape_pointer(k);
      if (v.is_string()) action.configuration.emplace_back(k, v.get<std::string>());
      else if (v.is_number_integer()) action.configuration.emplace_back(k, std::to_string(v.get<long long>()));
      else if (v.is_boolean()) action.configuration.emplace_back(k, v.get<bool>() ? "true" : "false");
      else if (v.is_number()) action.configuration.emplace_back(k, v.dump());
      else if (m_r.unresolved(p)) action.configuration.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
      else if (v.is_null()) m_r.error(p, fmt::format("configuration '{}' has no value", k));
      else
        m_r.error(p, fmt::format("configuration '{}' must be text, not {} (CodePipeline takes text; JSON goes in a string)",
                                 k, json_type_name(v)));
    }
  }

  std::vector<ArtifactRef> read_artifacts(const Json& a, const std::string& at, std::string_view key, bool with_files) {
    std::vector<ArtifactRef> out;
    const Json* list = m_r.array(a, at, key, false, "");
    if (!list) return out;
    auto lat = at + "/" + std::string(key);
    for (size_t i = 0; i < list->size(); ++i) {
      auto iat = fmt::format("{}/{}", lat, i);
      const Json& item = (*list)[i];
      if (!item.is_object()) {
        if (!m_r.unresolved(iat))
          m_r.error(iat, fmt::format("each of '{}' is a structure with a name (`- name: {}`), not {}", key,
                                     item.is_string() ? item.get<std::string>() : "NAME", json_type_name(item)));
        continue;
      }
      static constexpr std::array<std::string_view, 2> keys = {"name", "files"};
      m_r.keys(item, iat, std::span(keys.data(), with_files && key == "outputArtifacts" ? 2 : 1), "an artifact");
      ArtifactRef ref;
      if (auto n = m_r.text(item, iat, "name", "an artifact", true)) {
        ref.name = *n;
        m_r.check_name(*n, iat + "/name", "artifact name", 100, "-_", "letters, digits, - and _");
        for (auto& other : out)
          if (other.name == *n) m_r.error(iat + "/name", fmt::format("artifact '{}' is listed twice in '{}'", *n, key));
      }
      ref.files = m_r.texts(item, iat, "files");
      out.push_back(std::move(ref));
    }
    return out;
  }

  void check_counts(const PipelineAction& action, const std::string& at, const std::string& label) {
    const KnownType* k = known_type(action.type);
    int min_in = 0, max_in = 5, min_out = 0, max_out = 5;  // a custom action's bounds
    if (k) std::tie(min_in, max_in, min_out, max_out) = std::tie(k->min_in, k->max_in, k->min_out, k->max_out);
    else if (action.type.owner == "AWS") return;  // reported as unknown already
    auto range = [](int lo, int hi) { return lo == hi ? std::to_string(lo) : fmt::format("{} to {}", lo, hi); };
    auto type = fmt::format("{}/{}", action.type.category, action.type.provider);
    auto n_in = static_cast<int>(action.inputs.size()), n_out = static_cast<int>(action.outputs.size());
    if (n_in < min_in || n_in > max_in)
      m_r.error(action.inputs.empty() ? at : at + "/inputArtifacts",
                fmt::format("{} ({}) takes {} input artifact{}; it has {}", label, type, range(min_in, max_in),
                            max_in == 1 ? "" : "s", n_in));
    if (n_out < min_out || n_out > max_out)
      m_r.error(action.outputs.empty() ? at : at + "/outputArtifacts",
                fmt::format("{} ({}) produces {} output artifact{}; it has {}", label, type, range(min_out, max_out),
                            max_out == 1 ? "" : "s", n_out));
  }

  void read_triggers(const Json& root) {
    const Json* list = m_r.array(root, "", "triggers", false, "the pipeline");
    if (!list) return;
    if (!list->empty()) v2("triggers", "/triggers");
    if (list->size() > 50) m_r.error("/triggers", "at most 50 triggers");
    for (size_t i = 0; i < list->size(); ++i) {
      auto at = fmt::format("/triggers/{}", i);
      const Json& t = (*list)[i];
      if (!t.is_object()) {
        m_r.error(at, fmt::format("a trigger must be a structure, not {}", json_type_name(t)));
        continue;
      }
      static constexpr std::array<std::string_view, 2> keys = {"providerType", "gitConfiguration"};
      m_r.keys(t, at, keys, "a trigger");
      PipelineTrigger trigger;
      if (auto p = m_r.text(t, at, "providerType", "a trigger", true)) {
        trigger.provider_type = *p;
        if (*p != "CodeStarSourceConnection")
          m_r.error(at + "/providerType", fmt::format("trigger providerType '{}': the only one is CodeStarSourceConnection", *p));
      }
      if (const Json* git = m_r.object(t, at, "gitConfiguration", true, "a trigger")) {
        auto gat = at + "/gitConfiguration";
        static constexpr std::array<std::string_view, 3> git_keys = {"sourceActionName", "push", "pullRequest"};
        m_r.keys(*git, gat, git_keys, "gitConfiguration");
        if (auto s = m_r.text(*git, gat, "sourceActionName", "gitConfiguration", true)) {
          trigger.source_action = *s;
          check_trigger_source(*s, gat + "/sourceActionName");
        }
        if (const Json* push = m_r.array(*git, gat, "push", false, "")) {
          if (push->size() > 3) m_r.error(gat + "/push", "at most 3 push filters");
          for (size_t j = 0; j < push->size(); ++j) {
            auto pat = fmt::format("{}/push/{}", gat, j);
            if (!(*push)[j].is_object()) {
              m_r.error(pat, "a push filter must be a structure");
              continue;
            }
            static constexpr std::array<std::string_view, 3> push_keys = {"branches", "tags", "filePaths"};
            m_r.keys((*push)[j], pat, push_keys, "a push filter");
            PushFilter f;
            f.branches = read_globs((*push)[j], pat, "branches");
            f.tags = read_globs((*push)[j], pat, "tags");
            f.file_paths = read_globs((*push)[j], pat, "filePaths");
            if (!f.tags.empty() && (!f.branches.empty() || !f.file_paths.empty()))
              m_r.error(pat, "a push filter on tags cannot also filter branches or file paths");
            if (f.tags.empty() && f.branches.empty() && !f.file_paths.empty())
              m_r.error(pat, "a push filter on file paths needs branches too");
            trigger.push.push_back(std::move(f));
          }
        }
        if (const Json* prs = m_r.array(*git, gat, "pullRequest", false, "")) {
          if (prs->size() > 3) m_r.error(gat + "/pullRequest", "at most 3 pull request filters");
          for (size_t j = 0; j < prs->size(); ++j) {
            auto pat = fmt::format("{}/pullRequest/{}", gat, j);
            if (!(*prs)[j].is_object()) {
              m_r.error(pat, "a pull request filter must be a structure");
              continue;
            }
            static constexpr std::array<std::string_view, 3> pr_keys = {"events", "branches", "filePaths"};
            static constexpr std::array<std::string_view, 3> events = {"OPEN", "UPDATED", "CLOSED"};
            m_r.keys((*prs)[j], pat, pr_keys, "a pull request filter");
            PullRequestFilter f;
            f.events = m_r.texts((*prs)[j], pat, "events");
            for (size_t e = 0; e < f.events.size(); ++e)
              if (std::find(events.begin(), events.end(), f.events[e]) == events.end())
                m_r.error(fmt::format("{}/events/{}", pat, e),
                          fmt::format("unknown pull request event '{}'{}", f.events[e], did_you_mean(f.events[e], events)));
            f.branches = read_globs((*prs)[j], pat, "branches");
            f.file_paths = read_globs((*prs)[j], pat, "filePaths");
            trigger.pull_request.push_back(std::move(f));
          }
        }
        if (trigger.push.empty() && trigger.pull_request.empty())
          m_r.error(gat, "a trigger's gitConfiguration needs 'push' or 'pullRequest' filters");
      }
      m_p.triggers.push_back(std::move(trigger));
    }
  }

  GlobFilter read_globs(const Json& parent, const std::string& at, std::string_view key) {
    GlobFilter f;
    const Json* o = m_r.object(parent, at, key, false, "");
    if (!o) return f;
    auto oat = at + "/" + std::string(key);
    static constexpr std::array<std::string_view, 2> keys = {"includes", "excludes"};
    m_r.keys(*o, oat, keys, std::string(key));
    f.includes = m_r.texts(*o, oat, "includes");
    f.excludes = m_r.texts(*o, oat, "excludes");
    if (f.includes.size() > 8) m_r.error(oat + "/includes", "at most 8 patterns");
    if (f.excludes.size() > 8) m_r.error(oat + "/excludes", "at most 8 patterns");
    return f;
  }

  void check_trigger_source(const std::string& name, const std::string& at) {
    if (m_p.stages.empty()) return;
    for (auto& a : m_p.stages.front().actions) {
      if (a.name != name) continue;
      if (a.type.provider != "CodeStarSourceConnection")
        m_r.error(at, fmt::format("trigger source action '{}' is a {} action; triggers filter CodeStarSourceConnection "
                                  "source actions",
                                  name, a.type.provider));
      return;
    }
    std::vector<std::string> names;
    for (auto& a : m_p.stages.front().actions) names.push_back(a.name);
    std::vector<std::string_view> views(names.begin(), names.end());
    m_r.error(at, fmt::format("trigger source action '{}' is not an action of the first stage{}", name,
                              did_you_mean(name, views)));
  }

  // Where an action runs in the pipeline's order: (stage index, runOrder).
  struct Place {
    size_t stage;
    int run_order;
    bool before(const Place& o) const { return stage < o.stage || (stage == o.stage && run_order < o.run_order); }
  };

  void check_artifacts() {
    struct Producer {
      Place place;
      const PipelineAction* action;
      const PipelineStage* stage;
    };
    std::map<std::string, Producer> producers;
    for (size_t s = 0; s < m_p.stages.size(); ++s)
      for (auto& a : m_p.stages[s].actions)
        for (size_t i = 0; i < a.outputs.size(); ++i) {
          auto& name = a.outputs[i].name;
          if (name.empty()) continue;
          auto [it, fresh] = producers.emplace(name, Producer{{s, a.run_order}, &a, &m_p.stages[s]});
          if (!fresh)
            m_r.error(fmt::format("{}/outputArtifacts/{}/name", a.pointer, i),
                      fmt::format("output artifact '{}' is already produced by action '{}' in stage '{}'; output "
                                  "artifact names are unique in a pipeline",
                                  name, it->second.action->name, it->second.stage->name));
        }
    std::vector<std::string_view> names;
    for (auto& [n, p] : producers) names.push_back(n);
    for (size_t s = 0; s < m_p.stages.size(); ++s)
      for (auto& a : m_p.stages[s].actions)
        for (size_t i = 0; i < a.inputs.size(); ++i) {
          auto& name = a.inputs[i].name;
          auto at = fmt::format("{}/inputArtifacts/{}/name", a.pointer, i);
          if (name.empty() || m_r.unresolved(at)) continue;
          auto it = producers.find(name);
          if (it == producers.end()) {
            m_r.error(at, fmt::format("no action produces input artifact '{}' of action '{}'{}", name, a.name,
                                      did_you_mean(name, names)));
            continue;
          }
          Place here{s, a.run_order};
          if (!it->second.place.before(here))
            m_r.error(at, fmt::format("input artifact '{}' of action '{}' is produced by action '{}' ({}), which does "
                                      "not run before it: an input comes from an earlier stage, or from a lower "
                                      "runOrder in the same stage",
                                      name, a.name, it->second.action->name,
                                      it->second.place.stage == s
                                          ? fmt::format("runOrder {} in the same stage", it->second.action->run_order)
                                          : fmt::format("stage '{}'", it->second.stage->name)));
        }
    m_artifact_names.assign(names.begin(), names.end());
  }

  void check_namespaces_and_references() {
    struct NamespaceOwner {
      Place place;
      const PipelineAction* action;
    };
    std::map<std::string, NamespaceOwner> spaces;
    for (size_t s = 0; s < m_p.stages.size(); ++s)
      for (auto& a : m_p.stages[s].actions) {
        if (a.name_space.empty()) continue;
        auto at = a.pointer + "/namespace";
        auto [it, fresh] = spaces.emplace(a.name_space, NamespaceOwner{{s, a.run_order}, &a});
        if (!fresh)
          m_r.error(at, fmt::format("namespace '{}' is already action '{}''s; namespaces are unique in a pipeline",
                                    a.name_space, it->second.action->name));
        if (std::find(m_artifact_names.begin(), m_artifact_names.end(), a.name_space) != m_artifact_names.end())
          m_r.error(at, fmt::format("namespace '{}' is also an artifact's name", a.name_space));
      }
    std::vector<std::string_view> space_names;
    for (auto& [n, o] : spaces) space_names.push_back(n);
    space_names.push_back("codepipeline");
    if (!m_p.variables.empty()) space_names.push_back("variables");
    // Every `#{ns.var}` of an action must come from an action that has run by the time it starts.
    for (size_t s = 0; s < m_p.stages.size(); ++s)
      for (auto& a : m_p.stages[s].actions) {
        auto check_text = [&](const std::string& text, const std::string& at) {
          for (auto& ref : variable_references(text)) check_reference(ref, at, a, Place{s, a.run_order}, spaces, space_names);
        };
        for (auto& [k, v] : a.configuration) check_text(v, a.pointer + "/configuration/" + escape_pointer(k));
        for (size_t i = 0; i < a.commands.size(); ++i) check_text(a.commands[i], fmt::format("{}/commands/{}", a.pointer, i));
      }
  }

  template <class Spaces>
  void check_reference(const VariableReference& ref, const std::string& at, const PipelineAction& a, Place here,
                       const Spaces& spaces, const std::vector<std::string_view>& space_names) {
    if (m_r.unresolved(at)) return;
    if (ref.name_space == "codepipeline") {
      if (ref.variable != "PipelineExecutionId")
        m_r.error(at, fmt::format("'#{{codepipeline.{}}}': the codepipeline namespace has only PipelineExecutionId",
                                  ref.variable));
      return;
    }
    if (ref.name_space == "variables") {
      v2("'#{variables...}'", at);
      for (auto& v : m_p.variables)
        if (v.name == ref.variable) return;
      std::vector<std::string_view> names;
      for (auto& v : m_p.variables) names.push_back(v.name);
      m_r.error(at, fmt::format("'#{{variables.{}}}' in action '{}': the pipeline declares no variable '{}'{}",
                                ref.variable, a.name, ref.variable, did_you_mean(ref.variable, names)));
      return;
    }
    auto it = spaces.find(ref.name_space);
    if (it == spaces.end()) {
      m_r.error(at, fmt::format("'#{{{}.{}}}' in action '{}': no action has namespace '{}'{}", ref.name_space,
                                ref.variable, a.name, ref.name_space, did_you_mean(ref.name_space, space_names)));
      return;
    }
    const auto& owner = it->second;
    if (!owner.place.before(here)) {
      m_r.error(at, fmt::format("'#{{{}.{}}}' in action '{}' comes from action '{}', which does not run before it: a "
                                "variable comes from an earlier stage, or from a lower runOrder in the same stage",
                                ref.name_space, ref.variable, a.name, owner.action->name));
      return;
    }
    // The variables a known action type produces are known; others (CodeBuild's exported
    // variables, a stack's outputs, a Commands action's outputVariables) come from the run.
    const PipelineAction& producer = *owner.action;
    if (producer.type.category == "Compute" && producer.type.provider == "Commands") {
      if (std::find(producer.output_variables.begin(), producer.output_variables.end(), ref.variable) ==
          producer.output_variables.end())
        m_r.error(at, fmt::format("'#{{{}.{}}}': action '{}' does not list '{}' in its outputVariables", ref.name_space,
                                  ref.variable, producer.name, ref.variable));
      return;
    }
    if (const KnownType* k = known_type(producer.type); k && k->variables.size()) {
      std::vector<std::string_view> vars(k->variables);
      if (std::find(vars.begin(), vars.end(), ref.variable) == vars.end())
        m_r.warning(at, fmt::format("'#{{{}.{}}}': a {} action produces no variable '{}'{}", ref.name_space,
                                    ref.variable, producer.type.provider, ref.variable, did_you_mean(ref.variable, vars)));
    }
  }

  // The declaration as get-pipeline prints it: configuration values as text, runOrder given, the
  // legacy "__type" tags and the absent fields left out.
  Json normalized(const Json& root) const {
    Json out = root;
    out.erase("metadata");
    out["name"] = m_p.name;
    out["version"] = m_p.version;
    if (m_p.pipeline_type == "V2" || root.contains("pipelineType")) out["pipelineType"] = m_p.pipeline_type;
    if (m_p.pipeline_type == "V2" || root.contains("executionMode"))
      out["executionMode"] = std::string(execution_mode_name(m_p.execution_mode));
    if (!out.contains("stages") || !out["stages"].is_array()) return out;
    for (size_t s = 0; s < m_p.stages.size() && s < out["stages"].size(); ++s) {
      Json& stage = out["stages"][s];
      if (!stage.is_object() || !stage.contains("actions")) continue;
      Json& actions = stage["actions"];
      for (size_t i = 0; i < m_p.stages[s].actions.size() && i < actions.size(); ++i) {
        const auto& a = m_p.stages[s].actions[i];
        Json& j = actions[i];
        if (!j.is_object()) continue;
        if (j.contains("actionTypeId") && j["actionTypeId"].is_object()) j["actionTypeId"].erase("__type");
        j["runOrder"] = a.run_order;
        Json config = Json::object();
        for (auto& [k, v] : a.configuration) config[k] = v;
        if (!a.configuration.empty()) j["configuration"] = config;
        if (!j.contains("inputArtifacts")) j["inputArtifacts"] = Json::array();
        if (!j.contains("outputArtifacts")) j["outputArtifacts"] = Json::array();
      }
    }
    return out;
  }

  const yaml::PositionedJson& m_doc;
  const PipelineCheckOptions& m_options;
  Reader m_r;
  Pipeline m_p;
  std::vector<V2Use> m_v2_uses;
  std::vector<std::string> m_artifact_names;
};

}  // namespace

const std::string* PipelineAction::config(std::string_view key) const {
  for (auto& [k, v] : configuration)
    if (k == key) return &v;
  return nullptr;
}

std::vector<int> PipelineStage::run_orders() const {
  std::vector<int> out;
  for (auto& a : actions) out.push_back(a.run_order);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const PipelineStage* Pipeline::stage(std::string_view n) const {
  for (auto& s : stages)
    if (s.name == n) return &s;
  return nullptr;
}

std::optional<std::pair<const PipelineStage*, const PipelineAction*>> Pipeline::producer(std::string_view artifact) const {
  for (auto& s : stages)
    for (auto& a : s.actions)
      for (auto& o : a.outputs)
        if (o.name == artifact) return std::pair{&s, &a};
  return std::nullopt;
}

std::string_view execution_mode_name(ExecutionMode mode) {
  switch (mode) {
    case ExecutionMode::superseded: return "SUPERSEDED";
    case ExecutionMode::queued: return "QUEUED";
    case ExecutionMode::parallel: return "PARALLEL";
  }
  return "SUPERSEDED";
}

bool has_local_runner(const ActionTypeId& t) {
  // CodeStarSourceConnection and GitHub (version 1) sources read the home's repository of the
  // same name (pipeline/triggers.hpp).
  if (t.category == "Source")
    return t.provider == "CodeCommit" || t.provider == "S3" || t.provider == "CodeStarSourceConnection" ||
           t.provider == "GitHub";
  if (t.category == "Build" || t.category == "Test") return t.provider == "CodeBuild";
  if (t.category == "Deploy") return t.provider == "CodeDeploy" || t.provider == "S3";
  if (t.category == "Approval") return t.provider == "Manual";
  if (t.category == "Compute") return t.provider == "Commands";
  return false;
}

std::vector<VariableReference> variable_references(std::string_view text) {
  std::vector<VariableReference> out;
  auto is_name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '@' || c == '-' || c == '_';
  };
  for (size_t at = text.find("#{"); at != std::string_view::npos; at = text.find("#{", at + 2)) {
    size_t i = at + 2, ns_end = i;
    while (ns_end < text.size() && is_name_char(text[ns_end])) ++ns_end;
    if (ns_end == i || ns_end >= text.size() || text[ns_end] != '.') continue;
    size_t var_end = ns_end + 1;
    while (var_end < text.size() && (is_name_char(text[var_end]) || text[var_end] == '.')) ++var_end;
    if (var_end == ns_end + 1 || var_end >= text.size() || text[var_end] != '}') continue;
    out.push_back({std::string(text.substr(i, ns_end - i)), std::string(text.substr(ns_end + 1, var_end - ns_end - 1))});
  }
  return out;
}

bool is_valid_pipeline_name(std::string_view name) { return matches(name, 1, 100, k_name_chars); }
bool is_valid_artifact_name(std::string_view name) { return matches(name, 1, 100, "-_"); }
bool is_valid_namespace(std::string_view name) { return matches(name, 1, 100, "@-_"); }

PipelineParse parse_pipeline_declaration(const yaml::PositionedJson& declaration, const PipelineCheckOptions& options) {
  PipelineParse out;
  Checker checker(declaration, options, out.diagnostics);
  auto pipeline = checker.run();
  out.diagnostics.sort();
  if (pipeline && !out.diagnostics.has_errors()) out.pipeline = std::move(pipeline);
  return out;
}

}  // namespace cicd
