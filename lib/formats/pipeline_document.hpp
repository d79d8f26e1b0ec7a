// Reading a pipeline definition file, whatever shape it has (pipeline(5)):
//   - the JSON `aws codepipeline get-pipeline` prints ({"pipeline": ..., "metadata": ...}) or
//     `create-pipeline --cli-input-json` takes ({"pipeline": ..., "tags": ...}), or the bare
//     declaration ({"name": ..., "stages": ...}), in JSON or in YAML;
//   - a CloudFormation template (YAML with short-form tags, or JSON; CDK output too) holding one
//     or more AWS::CodePipeline::Pipeline resources, or a resource's bare Properties (PascalCase).
// Text in, pipelines and positioned diagnostics out; the caller adds the file name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "formats/pipeline.hpp"

namespace cicd {

enum class PipelineFormat { pipeline_json, pipeline_yaml, template_yaml, template_json, template_properties };
std::string_view pipeline_format_name(PipelineFormat format);  // "pipeline-json", "cfn-yaml", ...

struct PipelineReadOptions {
  // CloudFormation: parameter values (--parameter-overrides K=V) and values only AWS knows
  // (--value Res.Attr=V for !GetAtt, --value Res=V for a Ref to a resource, --value EXPORT=V for
  // !ImportValue).
  std::map<std::string, std::string> parameters;
  std::map<std::string, std::string> known_values;
  bool warn_without_local_runner = true;
  // A template parameter that is used and has no value is an error (create-pipeline), or a
  // warning and a placeholder (validate).
  bool parameters_required = true;
};

struct PipelineEntry {
  std::string logical_id;  // the template resource's; empty for a plain declaration
  PipelineParse parse;
  std::set<std::string> unresolved;  // pointers (in the declaration) of values only AWS knows
};

struct PipelineDocument {
  PipelineFormat format = PipelineFormat::pipeline_yaml;
  Diagnostics diagnostics;  // the document's own (syntax, template functions)
  std::vector<PipelineEntry> pipelines;

  // Every diagnostic of the document and its pipelines, by position.
  Diagnostics all_diagnostics() const;
  bool valid() const;
};

PipelineDocument read_pipeline_document(std::string_view text, const PipelineReadOptions& options = {});

// The part of `doc` at `pointer` (get-pipeline's "/pipeline"), its positions still the file's.
yaml::PositionedJson declaration_at(const yaml::PositionedJson& doc, const std::string& pointer);

// A CloudFormation AWS::CodePipeline::Pipeline resource's Properties (PascalCase) as the API's
// declaration (camelCase), positions carried over: property names start lowercase, except the
// keys of an action's Configuration; ArtifactStores (a list with Region) becomes the API's map by
// region. `unresolved` pointers are carried over too.
yaml::PositionedJson declaration_from_properties(const yaml::PositionedJson& properties,
                                                 const std::set<std::string>& unresolved_in,
                                                 std::set<std::string>& unresolved_out);

}  // namespace cicd
