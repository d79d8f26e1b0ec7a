// CloudFormation templates that hold the resources we run (AWS::CodePipeline::Pipeline): the
// template, read as JSON with positions (yaml::to_json with yaml::Tags::cloudformation, or
// yaml::parse_positioned_json), resolved the way CloudFormation would resolve it, as far as that
// can be done without AWS: parameters, pseudo parameters, conditions, mappings and the intrinsic
// functions. What only AWS knows (an attribute of a created resource, another stack's export)
// becomes a readable placeholder and a warning saying how to give it; it is not an error, because
// a pipeline runs here without most of those values (a role's ARN means nothing locally).
//
// Placeholders read "<!GetAtt PipelineRole.Arn>", "<!ImportValue Export>", "<!Ref Key>" (and
// "<!Ref Param>" for a parameter of an AWS::SSM::Parameter::Value<...> type): '<', '!' and ' '
// are in no AWS name, so a placeholder never passes for a real name. A string built from one (by
// Fn::Sub, Fn::Join, ...) keeps it inside ("arn:aws:s3:::<!GetAtt Bucket.Arn>/*") and is itself
// unresolved.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "formats/yaml_json.hpp"
#include "util/error.hpp"
#include "util/json.hpp"

namespace cicd::cfn {

// What a template is resolved with: what `aws cloudformation deploy` would be given, and the
// values only AWS would know, given by the user instead.
struct TemplateContext {
  // --parameter-overrides K=V: a parameter's value (a list parameter's as "a,b,c").
  std::map<std::string, std::string> parameters;
  // Values only AWS knows: "Res.Attr" for Fn::GetAtt (and ${Res.Attr} in Fn::Sub), "Res" for a
  // Ref to a resource (its physical id), an export's name for Fn::ImportValue, and a parameter's
  // name for a parameter whose value AWS reads from SSM.
  std::map<std::string, std::string> known_values;
  // A parameter that is used and has no value (no Default, none given) is an error; when false
  // (`cpipeline validate`: the structure is what is checked), a placeholder and a warning.
  bool parameters_required = true;
  std::string stack_name = "cicd-local";
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string partition = "aws";
  std::string url_suffix = "amazonaws.com";
};

// A value with its intrinsic functions resolved.
struct ResolvedValue {
  // Plain JSON: no intrinsic function left. Positions are those of the template's text: a
  // function's result is placed at the function, except Fn::If's, placed at the branch chosen.
  yaml::PositionedJson value;
  // The values (by pointer into `value`) that hold a placeholder, each with what is unknown in it
  // ("!GetAtt PipelineRole.Arn"; several are joined by ", ").
  std::map<std::string, std::string> unresolved;
};

struct Resource {
  std::string logical_id;
  std::string type;
  Position position;  // of the resource's definition (its first key)
  // The resolved Properties ({} when it has none); pointers relative to Properties.
  yaml::PositionedJson properties;
  std::map<std::string, std::string> unresolved;  // as ResolvedValue::unresolved
};

// Whether a document is a CloudFormation template: it has a "Resources" mapping or an
// "AWSTemplateFormatVersion".
bool is_template(const Json& document);

// Resolves every resource of `type` ("AWS::CodePipeline::Pipeline") in the template, in document
// order; a resource whose Condition is false is left out. Also checks what the whole template
// needs (every resource has a Type, every condition evaluates, no condition depends on itself).
// Problems go to `diagnostics` at their positions, all of them, not only the first: errors (a
// function that does not exist or is given the wrong arguments, a Ref to nothing, a parameter with
// no value or a value it does not allow) and warnings (a value known only in AWS; a resource's
// name taken as its logical id).
//
// A Ref to a resource is its known value if the context has one, else the resource's own name
// property when its type has one (AWS::CodeBuild::Project's Name, AWS::S3::Bucket's BucketName,
// ...) and the template sets it, else, for those types, its logical id (with a warning), and for
// other types a placeholder. Fn::GetAtt Repo.Name of an AWS::CodeCommit::Repository is its
// RepositoryName. Parameters are read when used: a parameter nothing uses needs no value.
std::vector<Resource> resolve_resources(const yaml::PositionedJson& document, std::string_view type,
                                        const TemplateContext& context, Diagnostics& diagnostics);

// Resolves a value outside any template (a bare Properties object): pseudo parameters and
// functions work; a Ref or Fn::GetAtt that the context does not give is a placeholder (there is
// no template to say what it names).
ResolvedValue resolve_value(const yaml::PositionedJson& value, const TemplateContext& context,
                            Diagnostics& diagnostics);

}  // namespace cicd::cfn
