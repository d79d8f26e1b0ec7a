// CloudFormation templates: short-form tags, JSON with positions, and the resolver of intrinsic
// functions (formats/cloudformation.hpp). Templates are written here; the real-world ones are read
// from the shared corpus where they are.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "formats/cloudformation.hpp"
#include "formats/json_positions.hpp"
#include "formats/yaml_json.hpp"
#include "formats/yaml_util.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;

namespace {

using Lines = std::vector<std::string>;

// Every diagnostic as the tools print it, in order.
Lines all(const Diagnostics& d) {
  Lines out;
  for (auto& item : d.items()) out.push_back(format_diagnostic("t", item));
  return out;
}

std::string at(const yaml::PositionedJson& json, const std::string& pointer) {
  auto it = json.positions.find(pointer);
  if (it == json.positions.end()) return "none";
  return std::to_string(it->second.line) + ":" + std::to_string(it->second.column);
}

yaml::PositionedJson from_yaml(std::string_view text, Diagnostics& d) {
  auto node = yaml::load(text, d);
  REQUIRE(node);
  return yaml::to_json(*node, d, yaml::Tags::cloudformation);
}

yaml::PositionedJson from_json(std::string_view text, Diagnostics& d) {
  auto json = yaml::parse_positioned_json(text, d);
  REQUIRE(json);
  return *json;
}

// The resources of `type` in a YAML template, with the diagnostics of reading and resolving it.
struct Resolved {
  std::vector<cfn::Resource> resources;
  Diagnostics diagnostics;
  const cfn::Resource& only() const {
    REQUIRE(resources.size() == 1);
    return resources[0];
  }
  const Json& properties() const { return only().properties.value; }
  Lines lines() const { return all(diagnostics); }
};

Resolved resolve_yaml(std::string_view text, const cfn::TemplateContext& context = {},
                      std::string_view type = "AWS::CodePipeline::Pipeline") {
  Resolved r;
  auto document = from_yaml(text, r.diagnostics);
  r.resources = cfn::resolve_resources(document, type, context, r.diagnostics);
  return r;
}

}  // namespace

// ---- short-form tags ----

TEST_CASE("cfn tags: short forms become long forms, at the tagged node", "[cfn]") {
  Diagnostics d;
  auto json = from_yaml(R"(a: !Ref Param
b: !GetAtt Role.Arn
c: !GetAtt [Role, Outputs.Url]
d: !Sub "x-${AWS::Region}"
e: !Join ["-", [!Ref A, b]]
f: !Condition IsProd
g: !ImportValue
  Fn::Sub: ${Stack}-Bucket
h: !GetAtt Db.Endpoint.Address
i: !Equals [!Ref "AWS::Region", 'us-east-1']
j: !ToJsonString {k: v}
)",
                        d);
  CHECK(d.items().empty());
  CHECK(json.value["a"] == Json{{"Ref", "Param"}});
  CHECK(json.value["b"] == Json{{"Fn::GetAtt", {"Role", "Arn"}}});
  CHECK(json.value["c"] == Json{{"Fn::GetAtt", {"Role", "Outputs.Url"}}});
  CHECK(json.value["d"] == Json{{"Fn::Sub", "x-${AWS::Region}"}});
  CHECK(json.value["e"] == Json::parse(R"({"Fn::Join": ["-", [{"Ref": "A"}, "b"]]})"));
  CHECK(json.value["f"] == Json{{"Condition", "IsProd"}});
  CHECK(json.value["g"] == Json::parse(R"({"Fn::ImportValue": {"Fn::Sub": "${Stack}-Bucket"}})"));
  // Split at the first '.': the attribute may hold dots.
  CHECK(json.value["h"] == Json{{"Fn::GetAtt", {"Db", "Endpoint.Address"}}});
  CHECK(json.value["i"] == Json::parse(R"({"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]})"));
  CHECK(json.value["j"] == Json::parse(R"({"Fn::ToJsonString": {"k": "v"}})"));

  CHECK(at(json, "/a") == "1:4");
  CHECK(at(json, "/a/Ref") == "1:4");
  CHECK(at(json, "/b/Fn::GetAtt") == "2:4");
  CHECK(at(json, "/b/Fn::GetAtt/1") == "2:4");
  CHECK(at(json, "/c/Fn::GetAtt/1") == "3:19");
  CHECK(at(json, "/e/Fn::Join/1/0/Ref") == "5:17");
  CHECK(at(json, "/g/Fn::ImportValue") == "7:4");
  CHECK(at(json, "/g/Fn::ImportValue/Fn::Sub") == "8:12");
}

TEST_CASE("cfn tags: quoted scalars, non-specific and global tags are not functions", "[cfn]") {
  Diagnostics d;
  auto json = from_yaml("a: '!Ref x'\nb: ! 12\nc: !!str 12\nd: on\ne: 0755\n", d);
  CHECK(d.items().empty());
  CHECK(json.value ==
        Json::parse(R"({"a": "!Ref x", "b": "12", "c": "12", "d": "on", "e": "0755"})"));
}

TEST_CASE("cfn tags: an unknown tag is an error at its node, ignored tags by default", "[cfn]") {
  Diagnostics d;
  auto json = from_yaml("a: !Reff x\nb: !Frobnicate x\nc: !Sub ok\n", d);
  CHECK(all(d) == Lines{"t:1:4: error: unknown CloudFormation tag '!Reff'; did you mean '!Ref'?",
                        "t:2:4: error: unknown CloudFormation tag '!Frobnicate'"});
  CHECK(json.value["c"] == Json{{"Fn::Sub", "ok"}});

  // Without the option, existing readers see the tag's value only.
  Diagnostics plain;
  auto node = yaml::load("a: !Ref x\n", plain);
  REQUIRE(node);
  CHECK(yaml::to_json(*node, plain).value == Json{{"a", "x"}});
  CHECK(plain.items().empty());
}

// ---- JSON with positions ----

TEST_CASE("cfn json: every value's position, by pointer", "[cfn]") {
  Diagnostics d;
  auto json = from_json(R"({
  "Resources": {
    "Pipe": {"Type": "AWS::CodePipeline::Pipeline",
      "Properties": {"Stages": [ {"Name": "Source"},
          {"Name": 12, "On": true, "Off": null, "F": -1.5e3} ]}}
  },
  "a/b": {"c~d": "x"},
  "q\"k": 1, "\u0041\u00e9": [[], {}]
})",
                        d);
  CHECK(d.items().empty());
  CHECK(json.value["Resources"]["Pipe"]["Properties"]["Stages"][1]["F"] == -1500.0);
  CHECK(at(json, "") == "1:1");
  CHECK(at(json, "/Resources") == "2:16");
  CHECK(at(json, "/Resources/Pipe") == "3:13");
  CHECK(at(json, "/Resources/Pipe/Type") == "3:22");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages") == "4:32");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages/0") == "4:34");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages/0/Name") == "4:43");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages/1") == "5:11");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages/1/Name") == "5:20");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages/1/On") == "5:30");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages/1/Off") == "5:43");
  CHECK(at(json, "/Resources/Pipe/Properties/Stages/1/F") == "5:54");
  // Keys are decoded, then escaped as pointers: '/' -> ~1, '~' -> ~0.
  CHECK(at(json, "/a~1b") == "7:10");
  CHECK(at(json, "/a~1b/c~0d") == "7:18");
  CHECK(at(json, "/q\"k") == "8:11");
  CHECK(at(json, "/A\u00e9") == "8:30");
  CHECK(at(json, "/A\u00e9/0") == "8:31");
  CHECK(at(json, "/A\u00e9/1") == "8:35");
}

TEST_CASE("cfn json: a syntax error is one diagnostic at its line and column", "[cfn]") {
  Diagnostics d;
  CHECK_FALSE(yaml::parse_positioned_json("{\n  \"a\": 1,\n  \"b\": tru\n}\n", d));
  // nlohmann stops at the character after the bad literal.
  CHECK(
      all(d) ==
      Lines{"t:3:11: error: invalid JSON: syntax error while parsing value - invalid literal; last "
            "read: '\"b\": tru<U+000A>'"});

  Diagnostics trailing;
  CHECK_FALSE(yaml::parse_positioned_json("[1, 2,]", trailing));
  CHECK(all(trailing) ==
        Lines{"t:1:7: error: invalid JSON: syntax error while parsing value - unexpected ']'; "
              "expected '[', '{', or a literal"});

  Diagnostics empty;
  CHECK_FALSE(yaml::parse_positioned_json("", empty));
  CHECK(all(empty) ==
        Lines{"t:1:1: error: invalid JSON: syntax error while parsing value - unexpected end of "
              "input; expected '[', '{', or a literal"});
}

TEST_CASE("cfn json: a byte order mark, and a key given twice", "[cfn]") {
  Diagnostics d;
  auto json = from_json("\xEF\xBB\xBF{\"a\": 1,\n \"a\": 2}", d);
  CHECK(json.value == Json{{"a", 2}});
  CHECK(at(json, "/a") == "2:7");
  CHECK(all(d) == Lines{"t:2:2: error: duplicate key 'a' (first at 1:2)"});
}

TEST_CASE("cfn json: nesting is bounded before anything recurses", "[cfn]") {
  Diagnostics d;
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_FALSE(yaml::parse_positioned_json(deep, d));
  CHECK(all(d) == Lines{"t:1:257: error: the document nests too deeply (more than 256 levels)"});

  // Up to the limit is fine, and brackets inside strings do not count.
  Diagnostics fine;
  std::string ok = std::string(255, '[') + "\"[[[[{{{{\"" + std::string(255, ']');
  auto json = yaml::parse_positioned_json(ok, fine);
  CHECK(json);
  CHECK(fine.items().empty());
}

// ---- the resolver: functions ----

TEST_CASE("cfn resolve: the intrinsic functions and pseudo parameters", "[cfn]") {
  auto r = resolve_yaml(R"(Parameters:
  Env:
    Type: String
    Default: dev
  Zones:
    Type: CommaDelimitedList
    Default: "a, b ,c"
  Count:
    Type: Number
    Default: 3
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Name: !Sub "${AWS::StackName}-${Env}"
      A: !Join [":", ["arn", !Ref "AWS::Partition", "s3", "", "", "bucket"]]
      B: !Select [1, !Ref Zones]
      C: !Split [",", "x,y,,z"]
      D: !Base64 "hello"
      E: !GetAZs ""
      F: !Length [1, 2, 3]
      G: !ToJsonString {a: 1, b: [true, !Ref Env]}
      H: !Ref Count
      I: !Select ["0", !GetAZs {Ref: "AWS::Region"}]
      J: !Sub
        - "${Greeting}, ${AWS::Region}: ${!Literal} ${ Env } ${unclosed"
        - Greeting: !Join ["", [h, i]]
          Unused: !GetAtt Nothing.Arn
      K: !Ref AWS::StackId
      L: !Ref AWS::NotificationARNs
      M: !Sub "${AWS::URLSuffix}/${AWS::AccountId}"
      N: {"Fn::GetAtt": "Pipeline.Name"}
      O: !Base64 "ab"
)",
                        {{}, {{"Pipeline.Name", "p"}}});
  CHECK(r.lines().empty());
  const Json& p = r.properties();
  CHECK(p["Name"] == "cicd-local-dev");
  CHECK(p["A"] == "arn:aws:s3:::bucket");
  CHECK(p["B"] == "b");
  CHECK(p["C"] == Json::array({"x", "y", "", "z"}));
  CHECK(p["D"] == "aGVsbG8=");
  CHECK(p["E"] == Json::array({"us-east-1a", "us-east-1b", "us-east-1c"}));
  CHECK(p["F"] == 3);
  CHECK(p["G"] == R"({"a":1,"b":[true,"dev"]})");
  CHECK(p["H"] == 3);
  CHECK(p["I"] == "us-east-1a");
  // An unused variable of the map is not resolved (nor complained about).
  CHECK(p["J"] == "hi, us-east-1: ${Literal} dev ${unclosed");
  CHECK(p["K"] ==
        "arn:aws:cloudformation:us-east-1:000000000000:stack/cicd-local/"
        "00000000-0000-0000-0000-000000000000");
  CHECK(p["L"] == Json::array());
  CHECK(p["M"] == "amazonaws.com/000000000000");
  CHECK(p["N"] == "p");
  CHECK(p["O"] == "YWI=");
  CHECK(r.only().unresolved.empty());

  // Positions: a function's result is at the function; its items too when it makes a list.
  const auto& props = r.only().properties;
  CHECK(at(props, "") == "15:7");
  CHECK(at(props, "/Name") == "15:13");
  CHECK(at(props, "/C") == "18:10");
  CHECK(at(props, "/C/3") == "18:10");
  CHECK(at(props, "/E/2") == "20:10");
  CHECK(at(props, "/J") == "25:10");
  CHECK(r.only().logical_id == "Pipeline");
  CHECK(r.only().type == "AWS::CodePipeline::Pipeline");
  CHECK(r.only().position.line == 13);
}

TEST_CASE("cfn resolve: the context sets the pseudo parameters", "[cfn]") {
  cfn::TemplateContext context;
  context.stack_name = "web";
  context.region = "cn-north-1";
  context.account_id = "123456789012";
  context.partition = "aws-cn";
  context.url_suffix = "amazonaws.com.cn";
  auto r = resolve_yaml(R"(Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      A: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}-${AWS::Region}.${AWS::URLSuffix}"
      B: !Select [2, !GetAZs ""]
)",
                        context);
  CHECK(r.lines().empty());
  CHECK(r.properties()["A"] == "arn:aws-cn:iam::123456789012:role/web-cn-north-1.amazonaws.com.cn");
  CHECK(r.properties()["B"] == "cn-north-1c");
}

// ---- conditions ----

namespace {

constexpr std::string_view k_conditional_pipeline = R"(Parameters:
  Stage:
    Type: String
    Default: test
    AllowedValues: [test, prod]
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Equals [a, a]]
  Either: !Or [!Condition IsProd, !Equals ["1", 1]]
  InList: {"Fn::Contains": [[test, qa], !Ref Stage]}
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      Stages:
        - Name: Source
          Actions:
            - Name: Checkout
        - !If
          - IsProd
          - Name: Approve
            Actions: [{Name: Manual}]
          - !Ref AWS::NoValue
        - Name: Deploy
          Actions:
            - !If [IsProd, {Name: Prod}, {Name: Test}]
            - Name: Notify
              RoleArn: !If [Either, !Ref AWS::NoValue, x]
              Region: !If [Both, p, q]
              Qa: !If [InList, yes, no]
              Skip: !If [NotProd, !Ref AWS::NoValue, kept]
  ProdOnly:
    Type: AWS::CodePipeline::Pipeline
    Condition: IsProd
    Properties: {Name: prod-only}
)";

}  // namespace

TEST_CASE("cfn resolve: conditions choose stages and actions, AWS::NoValue removes them", "[cfn]") {
  auto r = resolve_yaml(k_conditional_pipeline);
  CHECK(r.lines().empty());
  REQUIRE(r.resources.size() == 1);
  CHECK(r.properties() == Json::parse(R"({"Stages": [
    {"Name": "Source", "Actions": [{"Name": "Checkout"}]},
    {"Name": "Deploy", "Actions": [{"Name": "Test"},
                                   {"Name": "Notify", "Region": "q", "Qa": "yes"}]}]})"));
  // The stage after a removed one takes its index, with its own positions; Fn::If's result is at
  // the branch chosen.
  const auto& props = r.only().properties;
  CHECK(at(props, "/Stages/1") == "25:11");
  CHECK(at(props, "/Stages/1/Name") == "25:17");
  CHECK(at(props, "/Stages/1/Actions/0") == "27:42");
  CHECK(at(props, "/Stages/1/Actions/1/Region") == "30:37");
  CHECK(at(props, "/Stages/2") == "none");
  CHECK(at(props, "/Stages/1/Actions/1/RoleArn") == "none");
}

TEST_CASE("cfn resolve: a parameter override flips the conditions", "[cfn]") {
  cfn::TemplateContext context;
  context.parameters["Stage"] = "prod";
  auto r = resolve_yaml(k_conditional_pipeline, context);
  CHECK(r.lines().empty());
  REQUIRE(r.resources.size() == 2);
  CHECK(r.resources[0].properties.value == Json::parse(R"({"Stages": [
    {"Name": "Source", "Actions": [{"Name": "Checkout"}]},
    {"Name": "Approve", "Actions": [{"Name": "Manual"}]},
    {"Name": "Deploy", "Actions": [{"Name": "Prod"},
                                   {"Name": "Notify", "Region": "p", "Qa": "no", "Skip": "kept"}]}]})"));
  CHECK(at(r.resources[0].properties, "/Stages/1") == "22:13");
  CHECK(r.resources[1].logical_id == "ProdOnly");
  CHECK(r.resources[1].properties.value == Json{{"Name", "prod-only"}});
}

TEST_CASE("cfn resolve: conditions that depend on themselves or on nothing", "[cfn]") {
  auto r = resolve_yaml(R"(Conditions:
  Loop1: !Condition Loop2
  Loop2: !And [!Condition Loop1, !Equals [a, a]]
  Odd: !Equals [a]
  NotACondition: [a, b]
  Unknown: !Or [!Condition Nope, !Condition IsProd]
  IsProd: !Equals [a, b]
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Condition: Loop1
    Properties: {}
  Other:
    Type: AWS::CodePipeline::Pipeline
    Condition: IsProdd
)");
  CHECK(r.resources.empty());
  CHECK(r.lines() ==
        Lines{"t:2:10: error: condition 'Loop1' depends on itself: Loop1 -> Loop2 -> Loop1",
              "t:4:8: error: 'Fn::Equals' takes a list of two values; got a list",
              "t:5:18: error: a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not, "
              "Fn::Contains or a Condition; "
              "got a list",
              "t:6:17: error: unknown condition 'Nope'",
              "t:15:16: error: unknown condition 'IsProdd'; did you mean 'IsProd'?"});
}

// ---- parameters ----

TEST_CASE("cfn resolve: parameters: overrides, defaults, types, AllowedValues", "[cfn]") {
  cfn::TemplateContext context;
  context.parameters = {{"Env", "staging"}, {"Nope", "1"}, {"Given", "g"}};
  auto r = resolve_yaml(R"(Parameters:
  Needed: {Type: String}
  Unused: {Type: String}
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Port: {Type: Number, Default: "80x"}
  Subnets: {Type: "List<AWS::EC2::Subnet::Id>", Default: "s-1, s-2"}
  Given: {Type: String, Default: d, NoEcho: true}
  Secret: {Type: "AWS::SSM::Parameter::Value<String>", Default: /app/secret}
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      A: !Ref Needed
      B: !Ref Env
      C: !Ref Port
      D: !Ref Subnets
      E: !Sub "${Needed}"
      F: !Ref Given
      G: !Ref Secret
)",
                        context);
  CHECK(
      r.lines() ==
      Lines{"t: warning: --parameter-overrides gives 'Nope', which the template does not declare; "
            "it is ignored",
            "t:2:11: error: parameter 'Needed' has no value: give --parameter-overrides Needed=...",
            "t:4:8: error: parameter 'Env' is 'staging', which is not one of its AllowedValues: "
            "dev, prod",
            "t:5:9: error: parameter 'Port' is a Number; got '80x'",
            "t:19:10: warning: '!Ref Secret' is the value of the SSM parameter '/app/secret', "
            "known only in AWS: "
            "taken as '<!Ref Secret>'; give --value Secret=VALUE"});
  CHECK(r.properties()["D"] == Json::array({"s-1", "s-2"}));
  CHECK(r.properties()["F"] == "g");
  CHECK(r.properties()["G"] == "<!Ref Secret>");
  CHECK(r.only().unresolved == std::map<std::string, std::string>{{"/G", "!Ref Secret"}});
}

TEST_CASE(
    "cfn resolve: a parameter nothing uses needs no value, values known here fill SSM parameters",
    "[cfn]") {
  cfn::TemplateContext context;
  context.known_values["Version"] = "6";
  auto r = resolve_yaml(R"(Parameters:
  Unused: {Type: String}
  Version: {Type: "AWS::SSM::Parameter::Value<String>", Default: /cdk-bootstrap/version}
  Ports: {Type: "List<Number>", Default: [80, 443]}
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      V: !Ref Version
      P: !Join [",", !Ref Ports]
)",
                        context);
  CHECK(r.lines().empty());
  CHECK(r.properties() == Json{{"V", "6"}, {"P", "80,443"}});
}

// ---- mappings ----

TEST_CASE("cfn resolve: Fn::FindInMap, with and without a default", "[cfn]") {
  auto r = resolve_yaml(R"(Mappings:
  Regions:
    us-east-1: {Bucket: east-bucket, Zones: [a, b]}
    eu-west-1: {Bucket: west-bucket}
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      A: !FindInMap [Regions, !Ref "AWS::Region", Bucket]
      B: !FindInMap [Regions, us-east-1, Zones]
      C: !FindInMap [Regions, eu-west-1, Zones, {DefaultValue: [z]}]
      D: !FindInMap [Regions, ap-south-1, Bucket]
      E: !FindInMap [Nope, x, y]
      F: !FindInMap [Regions, eu-west-1, Nope]
      G: !FindInMap [Regions, eu-west-1]
)");
  CHECK(
      r.lines() ==
      Lines{
          "t:12:10: error: 'Fn::FindInMap': mapping 'Regions' has no key 'ap-south-1'",
          "t:13:10: error: 'Fn::FindInMap': there is no mapping 'Nope'",
          "t:14:10: error: 'Fn::FindInMap': mapping 'Regions' has no key 'Nope' under 'eu-west-1'",
          "t:15:10: error: 'Fn::FindInMap' takes [mapping, top-level key, second-level key] (and "
          "{DefaultValue: value}); got a list"});
  const Json& p = r.properties();
  CHECK(p["A"] == "east-bucket");
  CHECK(p["B"] == Json::array({"a", "b"}));
  CHECK(p["C"] == Json::array({"z"}));
  // The result is at the call; what it holds, where the mapping holds it.
  CHECK(at(r.only().properties, "/B") == "10:10");
  CHECK(at(r.only().properties, "/B/1") == "3:49");
}

// ---- values known only in AWS ----

namespace {

constexpr std::string_view k_aws_values = R"(Resources:
  Role: {Type: AWS::IAM::Role, Properties: {}}
  Bucket: {Type: AWS::S3::Bucket}
  Key: {Type: AWS::KMS::Key}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      RoleArn: !GetAtt Role.Arn
      ArtifactStore:
        Location: !ImportValue shared-bucket
        EncryptionKey: {Id: !Ref Key, Type: KMS}
      Stages:
        - Name: !ImportValue StageName
          Actions:
            - Name: A
              Configuration:
                Policy: !Sub "arn:${AWS::Partition}:s3:::${Bucket}/${Role.Arn}"
                Both: !Join [",", [!GetAtt Role.Arn, !ImportValue X]]
                Picked: !Select [0, [!ImportValue X, b]]
)";

}  // namespace

TEST_CASE("cfn resolve: values known only in AWS are placeholders, warned about, and listed",
          "[cfn]") {
  auto r = resolve_yaml(k_aws_values);
  CHECK(r.lines() == Lines{"t:8:16: warning: '!GetAtt Role.Arn' is known only in AWS: taken as "
                           "'<!GetAtt Role.Arn>'; give "
                           "--value Role.Arn=VALUE",
                           "t:10:19: warning: '!ImportValue shared-bucket' is another stack's "
                           "export, known only in AWS: taken "
                           "as '<!ImportValue shared-bucket>'; give --value shared-bucket=VALUE",
                           "t:11:29: warning: '!Ref Key' is known only in AWS: taken as '<!Ref "
                           "Key>'; give --value Key=VALUE",
                           "t:13:17: warning: '!ImportValue StageName' is another stack's export, "
                           "known only in AWS: taken as "
                           "'<!ImportValue StageName>'; give --value StageName=VALUE",
                           "t:17:25: warning: '${Bucket}' is taken as 'Bucket', the resource's "
                           "logical id (its physical name is "
                           "known only in AWS; give --value Bucket=NAME)",
                           "t:17:25: warning: '!GetAtt Role.Arn' is known only in AWS: taken as "
                           "'<!GetAtt Role.Arn>'; give "
                           "--value Role.Arn=VALUE",
                           "t:18:36: warning: '!GetAtt Role.Arn' is known only in AWS: taken as "
                           "'<!GetAtt Role.Arn>'; give "
                           "--value Role.Arn=VALUE",
                           "t:18:54: warning: '!ImportValue X' is another stack's export, known "
                           "only in AWS: taken as "
                           "'<!ImportValue X>'; give --value X=VALUE",
                           "t:19:38: warning: '!ImportValue X' is another stack's export, known "
                           "only in AWS: taken as "
                           "'<!ImportValue X>'; give --value X=VALUE"});
  const Json& p = r.properties();
  CHECK(p["RoleArn"] == "<!GetAtt Role.Arn>");
  CHECK(p["Stages"][0]["Name"] == "<!ImportValue StageName>");
  const Json& configuration = p["Stages"][0]["Actions"][0]["Configuration"];
  CHECK(configuration["Policy"] == "arn:aws:s3:::Bucket/<!GetAtt Role.Arn>");
  CHECK(configuration["Both"] == "<!GetAtt Role.Arn>,<!ImportValue X>");
  CHECK(configuration["Picked"] == "<!ImportValue X>");
  CHECK(r.only().unresolved ==
        std::map<std::string, std::string>{
            {"/RoleArn", "!GetAtt Role.Arn"},
            {"/ArtifactStore/Location", "!ImportValue shared-bucket"},
            {"/ArtifactStore/EncryptionKey/Id", "!Ref Key"},
            {"/Stages/0/Name", "!ImportValue StageName"},
            {"/Stages/0/Actions/0/Configuration/Policy", "!GetAtt Role.Arn"},
            {"/Stages/0/Actions/0/Configuration/Both", "!GetAtt Role.Arn, !ImportValue X"},
            {"/Stages/0/Actions/0/Configuration/Picked", "!ImportValue X"},
        });
}

TEST_CASE("cfn resolve: values given by the user fill what only AWS knows", "[cfn]") {
  cfn::TemplateContext context;
  context.known_values = {{"Role.Arn", "arn:aws:iam::1:role/r"},
                          {"shared-bucket", "b"},
                          {"StageName", "Deploy"},
                          {"Key", "k-1"},
                          {"X", "x"},
                          {"Bucket", "my-bucket"}};
  auto r = resolve_yaml(k_aws_values, context);
  CHECK(r.lines().empty());
  CHECK(r.only().unresolved.empty());
  const Json& p = r.properties();
  CHECK(p["RoleArn"] == "arn:aws:iam::1:role/r");
  CHECK(p["ArtifactStore"] ==
        Json::parse(R"({"Location": "b", "EncryptionKey": {"Id": "k-1", "Type": "KMS"}})"));
  CHECK(p["Stages"][0]["Name"] == "Deploy");
  const Json& configuration = p["Stages"][0]["Actions"][0]["Configuration"];
  CHECK(configuration["Policy"] == "arn:aws:s3:::my-bucket/arn:aws:iam::1:role/r");
  CHECK(configuration["Both"] == "arn:aws:iam::1:role/r,x");
}

TEST_CASE("cfn resolve: a Ref to a build project is its Name, else its logical id", "[cfn]") {
  constexpr std::string_view text = R"(Parameters:
  Prefix: {Type: String, Default: app}
Resources:
  Named:
    Type: AWS::CodeBuild::Project
    Properties:
      Name: !Sub "${Prefix}-build"
  Unnamed:
    Type: AWS::CodeBuild::Project
    Properties: {Source: {Type: CODEPIPELINE}}
  Repo:
    Type: AWS::CodeCommit::Repository
    Properties: {RepositoryName: my-repo}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      A: !Ref Named
      B: !Ref Unnamed
      C: !GetAtt Repo.Name
      D: !Ref Repo
      E: !Sub "${Named}/${Unnamed}"
)";
  auto r = resolve_yaml(text);
  CHECK(
      r.lines() ==
      Lines{"t:18:10: warning: 'Ref Unnamed' is taken as 'Unnamed', the resource's logical id (its "
            "physical name is known only in AWS; give --value Unnamed=NAME)",
            "t:20:10: warning: '!Ref Repo' is known only in AWS: taken as '<!Ref Repo>'; give "
            "--value "
            "Repo=VALUE",
            "t:21:10: warning: '${Unnamed}' is taken as 'Unnamed', the resource's logical id (its "
            "physical name is known only in AWS; give --value Unnamed=NAME)"});
  CHECK(r.properties() == Json{{"A", "app-build"},
                               {"B", "Unnamed"},
                               {"C", "my-repo"},
                               {"D", "<!Ref Repo>"},
                               {"E", "app-build/Unnamed"}});
  // A logical id is a guess, not an unknown: the value is usable as it is.
  CHECK(r.only().unresolved == std::map<std::string, std::string>{{"/D", "!Ref Repo"}});

  cfn::TemplateContext context;
  context.known_values["Unnamed"] = "real-name";
  auto known = resolve_yaml(text, context);
  CHECK(known.properties()["B"] == "real-name");
  CHECK(known.lines().size() == 1);
}

TEST_CASE("cfn resolve: a resource's name that depends on itself", "[cfn]") {
  auto r = resolve_yaml(R"(Resources:
  A:
    Type: AWS::CodeBuild::Project
    Properties: {Name: !Ref B}
  B:
    Type: AWS::CodeBuild::Project
    Properties: {Name: !Sub "${A}-b"}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties: {P: !Ref A, Q: !Ref B}
)");
  CHECK(r.lines() ==
        Lines{"t:4:24: error: the name of resource 'A' depends on itself (through 'Name')"});
}

// ---- errors ----

TEST_CASE("cfn resolve: every error is reported, at its position", "[cfn]") {
  auto r = resolve_yaml(R"(Resources:
  NoType: {Properties: {}}
  BadType: {Type: [a]}
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      A: {"Fn::Foo": 1}
      B: !Select [5, [a, b]]
      C: !If [Missing, a, b]
      D: !Ref Nothing
      E: !Join [",", [a, {k: v}]]
      F: !Select [x, [a]]
      G: {"Fn::Equals": [a, b]}
      H: !GetAtt Ghost.Arn
      I: !Sub "${Pipline.Name}"
      J: {"Fn::Joi": [a, b]}
      K: !Ref AWS::Regio
      L: !If [Missing]
      M: {Ref: [a]}
      N: !Join [",", !GetAtt Ghost.Arn]
      O: !Sub "${AWS::NoValue}"
      P: {"Fn::Select": [0, []]}
)");
  CHECK(r.lines() ==
        Lines{"t:2:11: error: resource 'NoType' has no Type",
              "t:3:19: error: the Type of resource 'BadType' must be a string; got a list",
              "t:7:10: error: unknown function 'Fn::Foo'",
              "t:8:10: error: 'Fn::Select' index 5 is out of range: the list has 2 items",
              "t:9:15: error: unknown condition 'Missing'",
              "t:10:10: error: 'Ref Nothing' names no parameter or resource",
              "t:11:26: error: the items 'Fn::Join' joins must be strings; got a mapping",
              "t:12:10: error: the index of 'Fn::Select' must be a number from 0; got 'x'",
              "t:13:10: error: 'Fn::Equals' is a condition function: it belongs under Conditions "
              "(choose a value "
              "with Fn::If)",
              "t:14:10: error: '!GetAtt Ghost.Arn' names no resource",
              "t:15:10: error: '${Pipline.Name}' names no resource; did you mean 'Pipeline'?",
              "t:16:10: error: unknown function 'Fn::Joi'; did you mean 'Fn::Join'?",
              "t:17:10: error: 'Ref AWS::Regio': there is no pseudo parameter 'AWS::Regio'; did "
              "you mean "
              "'AWS::Region'?",
              "t:18:10: error: 'Fn::If' takes [condition name, value if true, value if false]; got "
              "a list",
              "t:19:10: error: 'Ref' takes the name of a parameter or resource; got a list",
              "t:20:22: error: '!GetAtt Ghost.Arn' names no resource",
              "t:21:10: error: '${AWS::NoValue}' in 'Fn::Sub' must be a string; got AWS::NoValue",
              "t:22:10: error: 'Fn::Select' index 0 is out of range: the list has 0 items"});
}

TEST_CASE("cfn resolve: a template's sections must be mappings", "[cfn]") {
  auto r = resolve_yaml("AWSTemplateFormatVersion: 2010-09-09\nResources: [a]\nConditions: x\n");
  CHECK(r.resources.empty());
  CHECK(r.lines() == Lines{"t:3:13: error: 'Conditions' must be a mapping; got 'x'",
                           "t:2:12: error: 'Resources' must be a mapping; got a list"});

  auto none = resolve_yaml("AWSTemplateFormatVersion: 2010-09-09\n");
  CHECK(none.lines() == Lines{"t:1:1: error: the template has no Resources"});

  auto properties = resolve_yaml(
      "Resources:\n  P:\n    Type: AWS::CodePipeline::Pipeline\n    Properties: [a]\n  Q:\n"
      "    Type: AWS::CodePipeline::Pipeline\n");
  CHECK(properties.lines() ==
        Lines{"t:4:17: error: the Properties of resource 'P' must be a mapping; got a list"});
  REQUIRE(properties.resources.size() == 2);
  CHECK(properties.resources[1].properties.value == Json::object());
}

TEST_CASE("cfn resolve: transforms: language extensions are resolved, SAM and macros are not",
          "[cfn]") {
  auto r = resolve_yaml(
      R"(Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31, {Name: AWS::Include}]
Resources:
  Pipeline:
    Type: AWS::CodePipeline::Pipeline
    Properties:
      A: !Length [a, b]
      B: {"Fn::Transform": {Name: AWS::Include, Parameters: {Location: s3://x}}}
)");
  CHECK(
      r.lines() ==
      Lines{
          "t:1:38: warning: the transform 'AWS::Serverless-2016-10-31' (SAM) is not applied here: "
          "AWS::Serverless::* resources are read as written",
          "t:1:66: warning: the transform 'AWS::Include' runs in AWS, not here: the template is "
          "read as written",
          "t:7:10: warning: 'Fn::Transform AWS::Include' runs a macro in AWS, not here: taken as "
          "'<Fn::Transform AWS::Include>'"});
  CHECK(r.properties()["A"] == 2);
  CHECK(r.only().unresolved ==
        std::map<std::string, std::string>{{"/B", "Fn::Transform AWS::Include"}});
}

// ---- JSON templates, bare values, bounds ----

TEST_CASE("cfn resolve: a JSON template, positions from the JSON text", "[cfn]") {
  Diagnostics d;
  auto document = from_json(R"({
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": {
    "Pipeline": {
      "Type": "AWS::CodePipeline::Pipeline",
      "Properties": {
        "RoleArn": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}]]},
        "Stages": [{"Name": {"Fn::If": ["Never", "a", {"Ref": "AWS::NoValue"}]}, "Actions": []}]
      }
    }
  },
  "Conditions": {"Never": {"Fn::Equals": ["1", "2"]}}
})",
                            d);
  CHECK(cfn::is_template(document.value));
  auto resources = cfn::resolve_resources(document, "AWS::CodePipeline::Pipeline", {}, d);
  CHECK(all(d).empty());
  REQUIRE(resources.size() == 1);
  CHECK(resources[0].properties.value["RoleArn"] == "arn:aws:iam::000000000000");
  CHECK(resources[0].properties.value["Stages"] == Json::parse(R"([{"Actions": []}])"));
  CHECK(at(resources[0].properties, "/RoleArn") == "7:20");
  CHECK(at(resources[0].properties, "/Stages/0/Actions") == "8:93");
  CHECK(resources[0].position.line == 4);
}

TEST_CASE("cfn resolve: a bare value (Properties without a template)", "[cfn]") {
  Diagnostics d;
  auto value = from_json(R"({"ArtifactStores": [{"Region": {"Ref": "AWS::Region"}}],
 "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
 "Name": {"Ref": "PipelineName"},
 "Known": {"Ref": "Given"}})",
                         d);
  CHECK_FALSE(cfn::is_template(value.value));
  cfn::TemplateContext context;
  context.known_values["Given"] = "g";
  auto r = cfn::resolve_value(value, context, d);
  CHECK(r.value.value == Json::parse(R"({"ArtifactStores": [{"Region": "us-east-1"}],
    "RoleArn": "<!GetAtt Role.Arn>", "Name": "<!Ref PipelineName>", "Known": "g"})"));
  CHECK(r.unresolved == std::map<std::string, std::string>{{"/RoleArn", "!GetAtt Role.Arn"},
                                                           {"/Name", "!Ref PipelineName"}});
  CHECK(all(d) == Lines{"t:2:13: warning: '!GetAtt Role.Arn' is known only in AWS: taken as "
                        "'<!GetAtt Role.Arn>'; "
                        "give --value Role.Arn=VALUE",
                        "t:3:10: warning: '!Ref PipelineName' names something outside this value, "
                        "known only in AWS: "
                        "taken as '<!Ref PipelineName>'; give --value PipelineName=VALUE"});
  CHECK(at(r.value, "/ArtifactStores/0/Region") == "1:32");
}

TEST_CASE("cfn resolve: nesting and chains of references are bounded", "[cfn]") {
  // Deeper than the resolver goes, built directly (no reader would let it through).
  Json deep = "x";
  for (int i = 0; i < 600; ++i) deep = Json{{"Fn::Base64", deep}};
  Diagnostics d;
  auto r = cfn::resolve_value({deep, {}}, {}, d);
  REQUIRE(d.items().size() == 1);
  CHECK(d.items()[0].message ==
        "the template nests too deeply (more than 512 levels of values and references)");

  // A long chain of names, each the next project's, resolves to the last one's.
  std::string text = "Resources:\n";
  for (int i = 0; i < 100; ++i)
    text += fmt::format(
        "  P{}:\n    Type: AWS::CodeBuild::Project\n    Properties: {{Name: !Ref P{}}}\n", i,
        i + 1);
  text += "  P100:\n    Type: AWS::CodeBuild::Project\n    Properties: {Name: last}\n";
  text += "  Pipeline:\n    Type: AWS::CodePipeline::Pipeline\n    Properties: {A: !Ref P0}\n";
  auto chain = resolve_yaml(text);
  CHECK(chain.lines().empty());
  CHECK(chain.properties()["A"] == "last");
}

// ---- the real-world corpus ----

namespace {

struct CorpusTemplate {
  yaml::PositionedJson document;
  Diagnostics diagnostics;  // of reading it
  cfn::TemplateContext context;
};

// A corpus file read as its note says (format=cfn-yaml or cfn-json), with a value for every
// parameter that has no default, as `--parameter-overrides` would give them.
CorpusTemplate read_corpus_template(const test::CorpusFile& row) {
  CorpusTemplate t;
  auto text = unwrap(read_file(row.path()));
  if (test::contains(row.note, "format=cfn-json")) {
    auto json = yaml::parse_positioned_json(text, t.diagnostics);
    REQUIRE(json);
    t.document = std::move(*json);
  } else {
    t.document = from_yaml(text, t.diagnostics);
  }
  if (auto parameters = t.document.value.find("Parameters"); parameters != t.document.value.end())
    for (auto& [name, declaration] : parameters->items())
      if (!declaration.contains("Default")) t.context.parameters[name] = "example-" + name;
  return t;
}

std::vector<cfn::Resource> corpus_pipelines(const std::string& name, Diagnostics& d) {
  auto t = read_corpus_template(test::corpus_file("pipeline", name));
  REQUIRE(t.diagnostics.items().empty());
  return cfn::resolve_resources(t.document, "AWS::CodePipeline::Pipeline", t.context, d);
}

const Json& action_named(const Json& properties, const std::string& stage,
                         const std::string& action) {
  for (auto& s : properties["Stages"])
    if (s["Name"] == stage)
      for (auto& a : s["Actions"])
        if (a["Name"] == action) return a;
  FAIL("no action " << stage << "/" << action);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("corpus: every CloudFormation template's pipelines resolve", "[cfn][corpus]") {
  std::map<std::string, int> checked;
  for (auto& row : test::corpus_files("pipeline")) {
    if (!test::contains(row.note, "format=cfn-yaml") &&
        !test::contains(row.note, "format=cfn-json"))
      continue;
    auto t = read_corpus_template(row);
    INFO(row.file << " (expect " << row.expect << ")\n"
                  << Catch::Detail::stringify(all(t.diagnostics)));
    CHECK_FALSE(t.diagnostics.has_errors());
    Diagnostics& d = t.diagnostics;

    std::vector<Json> pipelines;
    if (cfn::is_template(t.document.value)) {
      for (auto& r :
           cfn::resolve_resources(t.document, "AWS::CodePipeline::Pipeline", t.context, d))
        pipelines.push_back(r.properties.value);
    } else {
      // A bare Properties object: the pipeline model's reader decides it is one; resolving works.
      pipelines.push_back(cfn::resolve_value(t.document, t.context, d).value.value);
    }
    INFO(Catch::Detail::stringify(all(d)));
    bool has_stages = std::any_of(pipelines.begin(), pipelines.end(), [](const Json& p) {
      return p.contains("Stages") && p["Stages"].is_array();
    });
    if (row.expect == "valid" || row.expect == "any") {
      CHECK_FALSE(d.has_errors());
      CHECK(has_stages);
    } else {
      // Its faults are the pipeline model's to find (a one-stage pipeline, Stages as a mapping):
      // as a template it resolves.
      REQUIRE(row.expect == "invalid");
      CHECK_FALSE(d.has_errors());
      CHECK(pipelines.size() == 2);
    }
    ++checked[row.expect];
  }
  // The whole corpus was read, not a truncated list.
  CHECK(checked["valid"] == 12);
  CHECK(checked["invalid"] == 1);
  CHECK(checked["any"] == 1);
}

TEST_CASE("corpus: cfn-lint's good fixture: Fn::If picks one action, an imported stage name",
          "[cfn][corpus]") {
  Diagnostics d;
  auto pipelines = corpus_pipelines(
      "aws-cloudformation__cfn-lint__test_fixtures_templates_good_resources_codepipeline.yaml", d);
  CHECK_FALSE(d.has_errors());
  REQUIRE(pipelines.size() == 1);
  const auto& p = pipelines[0];
  CHECK(p.properties.value["RoleArn"] == "arn:aws:iam::000000000000:role/AWSCodePipelineRole");
  const Json& stage = p.properties.value["Stages"][2];
  CHECK(stage["Name"] == "<!ImportValue TestImport>");
  // us-east-1 makes myCondition true: the first body, from line 46.
  REQUIRE(stage["Actions"].size() == 1);
  CHECK(stage["Actions"][0]["Name"] == "CodeBuild");
  CHECK(at(p.properties, "/Stages/2/Actions/0") == "46:15");
  CHECK(p.unresolved == std::map<std::string, std::string>{
                            {"/Stages/2/Name", "!ImportValue TestImport"},
                            {"/Stages/2/Actions/0/ActionTypeId/Version", "!ImportValue Version"}});
  CHECK(format_diagnostic("t", d.items()[0]) ==
        "t:42:17: warning: '!ImportValue TestImport' is another stack's export, known only in AWS: "
        "taken as "
        "'<!ImportValue TestImport>'; give --value TestImport=VALUE");
}

TEST_CASE("corpus: the CDK template: Joins of pseudo parameters, projects by logical id",
          "[cfn][corpus]") {
  Diagnostics d;
  auto pipelines = corpus_pipelines(
      "sathish-cz__cdk-pipelines-demo-new__cdk.out_PipelineStack.template.json", d);
  CHECK_FALSE(d.has_errors());
  REQUIRE(pipelines.size() == 1);
  const Json& p = pipelines[0].properties.value;
  CHECK(p["Stages"].size() == 6);
  const Json& prepare = action_named(p, "Pre-Prod", "WebService.Prepare");
  CHECK(prepare["RoleArn"] ==
        "arn:aws:iam::000000000000:role/cdk-hnb659fds-deploy-role-000000000000-us-east-1");
  CHECK(prepare["Configuration"]["RoleArn"] ==
        "arn:aws:iam::000000000000:role/cdk-hnb659fds-cfn-exec-role-000000000000-us-east-1");
  // CDK names no project: the logical id stands for it, with a warning at the Ref.
  CHECK(action_named(p, "Build", "Synth")["Configuration"]["ProjectName"] ==
        "PipelineBuildSynthCdkBuildProject6BEFA8E6");
  CHECK(pipelines[0].unresolved.at("/RoleArn") == "!GetAtt PipelineRoleB27FAA37.Arn");
  bool warned = false;
  for (auto& item : d.items())
    warned =
        warned || item.message ==
                      "'Ref PipelineBuildSynthCdkBuildProject6BEFA8E6' is taken as "
                      "'PipelineBuildSynthCdkBuildProject6BEFA8E6', the resource's logical id (its "
                      "physical name is known only in AWS; give --value "
                      "PipelineBuildSynthCdkBuildProject6BEFA8E6=NAME)";
  CHECK(warned);
}

TEST_CASE("corpus: twins in YAML and JSON resolve to the same pipeline", "[cfn][corpus]") {
  const std::string base =
      "aws-cloudformation__aws-cloudformation-templates__Solutions_CodeBuildAndCodePipeline_"
      "cloudformation-codepipeline-template";
  Diagnostics from_yaml_text;
  Diagnostics from_json_text;
  auto a = corpus_pipelines(base + ".yaml", from_yaml_text);
  auto b = corpus_pipelines(base + ".json", from_json_text);
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].properties.value == b[0].properties.value);
  CHECK(a[0].unresolved == b[0].unresolved);
  CHECK(a[0].properties.value["Name"] == "cicd-local-Code-Pipeline");
  CHECK(a[0].properties.value["Stages"][1]["Actions"][0]["Configuration"]["ProjectName"] ==
        "<!ImportValue example-CodeBuildStack-AppBuild>");
  CHECK(from_yaml_text.warning_count() == from_json_text.warning_count());
}

TEST_CASE("corpus: a CodeCommit repository's name through Fn::GetAtt", "[cfn][corpus]") {
  Diagnostics d;
  auto pipelines = corpus_pipelines(
      "aws-samples__aws-codepipeline-stepfunctions__pipeline_codepipeline_codepipeline_template."
      "yaml",
      d);
  REQUIRE(pipelines.size() == 1);
  const Json& source = pipelines[0].properties.value["Stages"][0]["Actions"][0];
  CHECK(source["Configuration"]["RepositoryName"] == "CodePipelineStepFunctionsRepo");
  CHECK(format_diagnostic("t", d.items()[0]) ==
        "t:15:12: warning: the transform 'AWS::Serverless-2016-10-31' (SAM) is not applied here: "
        "AWS::Serverless::* resources are read as written");
}
