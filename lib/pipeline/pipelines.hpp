// Pipelines kept in the home (CodePipeline's CreatePipeline, UpdatePipeline, GetPipeline,
// ListPipelines, DeletePipeline): <home>/pipeline/pipelines/NAME.yml holds what `aws codepipeline
// get-pipeline` prints, {pipeline: <declaration>, metadata: {pipelineArn, created, updated}}, in
// YAML, readable and editable by hand and checked by the pipeline validator on every read
// (store/definitions.hpp: one lock for changes, all problems at once with FILE:LINE:COL).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "formats/pipeline.hpp"
#include "formats/pipeline_document.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd {

// A definition as given to create-pipeline / update-pipeline / validate.
struct PipelineSource {
  std::string text;
  std::string file;    // for messages: the file's path, or the flag that gave the text
  std::string select;  // --pipeline-name: which pipeline of a template (logical id or name)
  PipelineReadOptions read;
  // --action-override NAME=COMMAND: a local command for an action (by "Action" or "Stage.Action"),
  // stored as the action's `localCommand`.
  std::map<std::string, std::string> action_overrides;
};

// The one pipeline a source defines (or the one `select` names), valid; Error{invalid} with every
// problem of the file as "FILE:LINE:COL: error: ..." details otherwise. Warnings come back in
// `warnings`, formatted the same way.
struct SourcedPipeline {
  Pipeline pipeline;
  std::vector<std::string> warnings;
};
Result<SourcedPipeline> pipeline_from_source(const PipelineSource& source);

struct StoredPipeline {
  Pipeline pipeline;
  std::string arn;
  std::string created;  // ISO 8601
  std::string updated;
  std::vector<std::string> warnings;  // of the definition given to create/update

  // get-pipeline's answer: {"pipeline": ..., "metadata": {...}}.
  Json to_json() const;
};

class Pipelines {
 public:
  explicit Pipelines(std::filesystem::path home);

  // CreatePipeline: Error{conflict} when the name is taken, Error{invalid} for a definition that
  // does not validate (nothing is written).
  Result<StoredPipeline> create(const PipelineSource& source);
  // UpdatePipeline: replaces the declaration of an existing pipeline (version + 1); a definition
  // that does not validate leaves the stored one as it was.
  Result<StoredPipeline> update(const PipelineSource& source);
  Result<StoredPipeline> get(const std::string& name) const;
  // The names, sorted.
  Result<std::vector<std::string>> list() const;
  // Every stored pipeline that reads (poll and notify-push look at all of them); one that does
  // not read is skipped, its error appended to `problems`, so one broken file stops nothing else.
  Result<std::vector<Pipeline>> all(std::vector<std::string>& problems) const;
  Status remove(const std::string& name);

  // Where the definition of `name` lives (for messages and tests).
  std::filesystem::path path(const std::string& name) const;

 private:
  std::filesystem::path m_home;
};

}  // namespace cicd
