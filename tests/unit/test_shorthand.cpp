#include <catch2/catch.hpp>

#include "util/shorthand.hpp"

using namespace cicd;
using Type = ShorthandKey::Type;

namespace {

std::string error_of(const auto& result) {
  return result ? std::string("(succeeded)") : result.error().message;
}

Json parsed(std::string_view text, const ShorthandSchema& schema = {}) {
  auto r = parse_cli_structure(text, "--x", schema);
  INFO(error_of(r));
  REQUIRE(r);
  return *r;
}

std::string bad(std::string_view text, const ShorthandSchema& schema = {}) {
  return error_of(parse_cli_structure(text, "--x", schema));
}

// cbuild create-project's --environment, as the AWS CLI's model has it (a part of it).
const ShorthandSchema k_environment = {
    {"type"},
    {"image"},
    {"computeType"},
    {"privilegedMode"},
    {"environmentVariables", Type::structures, {{"name"}, {"value"}, {"type"}}},
};

const ShorthandSchema k_nested = {
    {"a"},
    {"b", Type::list},
    {"c", Type::structure, {{"d"}, {"e"}, {"g", Type::list}}},
    {"f", Type::structures, {{"k"}}},
};

}  // namespace

// ---- the pieces ----

TEST_CASE("shorthand: splitting at top-level commas", "[shorthand]") {
  auto split = [](std::string_view text) {
    std::vector<std::string> out;
    auto why = shorthand::split_top(text, out);
    INFO(why.value_or(""));
    REQUIRE_FALSE(why);
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(split("a=1,b=2") == V{"a=1", "b=2"});
  CHECK(split("a=[1,2],c={d=3,e=4},f=5") == V{"a=[1,2]", "c={d=3,e=4}", "f=5"});
  CHECK(split("a='x,y',b=\"z,w\"") == V{"a='x,y'", "b=\"z,w\""});
  CHECK(split("a=x\\,y,b=2") == V{"a=x\\,y", "b=2"});
  CHECK(split("a=don't,b=2") == V{"a=don't", "b=2"});
  CHECK(split("a='it\\'s, ok',b=2") == V{"a='it\\'s, ok'", "b=2"});
  CHECK(split("a=\"say \\\"hi, there\\\"\"") == V{"a=\"say \\\"hi, there\\\"\""});
  CHECK(split("a=[{k='}'}]") == V{"a=[{k='}'}]"});
  CHECK(split("") == V{""});
  CHECK(split("a,") == V{"a", ""});

  auto why = [](std::string_view text) {
    std::vector<std::string> out;
    return shorthand::split_top(text, out).value_or("(split)");
  };
  CHECK(why("a='x") == "unterminated quote");
  CHECK(why("a=\"x\\\"") == "unterminated quote");
  CHECK(why("a=[x") == "unbalanced brackets: a '[' or '{' is not closed");
  CHECK(why("a={x=1") == "unbalanced brackets: a '[' or '{' is not closed");
  CHECK(why("a=x]") == "unbalanced ']'");
  CHECK(why("a=x}") == "unbalanced '}'");
}

TEST_CASE("shorthand: unquoting follows the AWS CLI's escapes", "[shorthand]") {
  CHECK(shorthand::unquote(" plain ") == "plain");
  CHECK(shorthand::unquote("'a,b'") == "a,b");
  CHECK(shorthand::unquote("\"a,b\"") == "a,b");
  CHECK(shorthand::unquote("a\\,b") == "a,b");
  // Only the quote and the backslash are escaped inside quotes; other backslashes stay.
  CHECK(shorthand::unquote("'it\\'s'") == "it's");
  CHECK(shorthand::unquote("'a\\\\b'") == "a\\b");
  CHECK(shorthand::unquote("'C:\\temp'") == "C:\\temp");
  CHECK(shorthand::unquote("\"say \\\"hi\\\"\"") == "say \"hi\"");
  CHECK(shorthand::unquote("\"it\\'s\"") == "it\\'s");
  // Outside quotes a backslash escapes only a comma.
  CHECK(shorthand::unquote("^a\\.b$") == "^a\\.b$");
  CHECK(shorthand::unquote("don't") == "don't");
  CHECK(shorthand::unquote("''") == "");
  CHECK(shorthand::unquote("'") == "'");
}

TEST_CASE("shorthand: the first '=' and enclosing brackets", "[shorthand]") {
  CHECK(shorthand::find_equals("a=b=c") == 1);
  CHECK(shorthand::find_equals("abc") == std::string_view::npos);
  CHECK(shorthand::find_equals("'a=b'") == std::string_view::npos);
  CHECK(shorthand::find_equals("{a=b}") == std::string_view::npos);
  CHECK(shorthand::find_equals("[a=b]") == std::string_view::npos);
  CHECK(shorthand::inside(" [a,b] ", '[', ']') == "a,b");
  CHECK(shorthand::inside("{}", '{', '}') == "");
  CHECK_FALSE(shorthand::inside("[a", '[', ']'));
  CHECK_FALSE(shorthand::inside("a]", '[', ']'));
}

TEST_CASE("shorthand: flat fields with lists", "[shorthand]") {
  static constexpr std::array<std::string_view, 3> k_keys = {"name", "tags", "mode"};
  static constexpr std::array<std::string_view, 1> k_lists = {"tags"};
  auto fields = [](std::string_view text) {
    return shorthand::parse_fields(text, "--f", text, k_keys, k_lists);
  };
  auto f = fields("name=web,tags=a,b,mode=fast");
  REQUIRE(f);
  REQUIRE(f->size() == 3);
  CHECK((*f)[0].key == "name");
  CHECK((*f)[0].values == std::vector<std::string>{"web"});
  CHECK((*f)[1].values == std::vector<std::string>{"a", "b"});
  CHECK(shorthand::find_field(*f, "mode")->values == std::vector<std::string>{"fast"});
  CHECK(shorthand::find_field(*f, "other") == nullptr);
  auto listed = fields("tags=[a,'b,c',\"d\"]");
  REQUIRE(listed);
  CHECK((*listed)[0].values == std::vector<std::string>{"a", "b,c", "d"});
  auto empty_list = fields("tags=[]");
  REQUIRE(empty_list);
  CHECK((*empty_list)[0].values.empty());

  CHECK(error_of(fields("")) == "--f '': empty; expected name, tags or mode");
  CHECK(error_of(fields("nmae=web")) ==
        "--f 'nmae=web': unknown field 'nmae'; did you mean 'name'?");
  CHECK(error_of(fields("colour=red")) ==
        "--f 'colour=red': unknown field 'colour'; expected name, tags or mode");
  CHECK(
      error_of(fields("name=a,b")) ==
      "--f 'name=a,b': 'name' takes one value; got another, 'b' (quote a value that holds a ',')");
  CHECK(error_of(fields("name=[a,b]")) == "--f 'name=[a,b]': 'name' takes one value, not a list");
  CHECK(error_of(fields("name=a,name=b")) == "--f 'name=a,name=b': field 'name' is given twice");
  CHECK(error_of(fields("web")) == "--f 'web': 'web' is not of the form name=value");
  CHECK(error_of(fields("name=a,,mode=b")) ==
        "--f 'name=a,,mode=b': empty field: remove the stray ','");
  CHECK(error_of(fields("tags=[a,'b]")) == "--f 'tags=[a,'b]': unterminated quote");
  CHECK(fields("nmae=web").error().kind == ErrorKind::usage);
}

// ---- structures ----

TEST_CASE("shorthand: structures without a schema take their shape from the syntax",
          "[shorthand]") {
  CHECK(parsed("a=1,b=[x,y],c={d=2,e=3},f=[{k=v},{k=w}]") ==
        Json::parse(R"({"a":"1","b":["x","y"],"c":{"d":"2","e":"3"},"f":[{"k":"v"},{"k":"w"}]})"));
  // Order is kept, as written.
  CHECK(to_json_text(parsed("z=1,a=2"), JsonStyle::compact) == R"({"z":"1","a":"2"})");
  // "b=x,y" is a list, as the AWS CLI's parser has it.
  CHECK(parsed("b=x,y,c=z") == Json::parse(R"({"b":["x","y"],"c":"z"})"));
  CHECK(parsed("a=,b=[],c={}") == Json::parse(R"({"a":"","b":[],"c":{}})"));
  CHECK(parsed("a=[[x,y],[z]]") == Json::parse(R"({"a":[["x","y"],["z"]]})"));
  CHECK(parsed("a={b={c={d=deep}}}") == Json::parse(R"({"a":{"b":{"c":{"d":"deep"}}}})"));
  CHECK(parsed(" a = 1 , b = 2 ") == Json::parse(R"({"a":"1","b":"2"})"));
  CHECK(parsed("a=x=y") == Json::parse(R"({"a":"x=y"})"));
}

TEST_CASE("shorthand: quoting and escapes inside structures", "[shorthand]") {
  CHECK(parsed("a='x,y',b=\"[not, a list]\"") == Json::parse(R"({"a":"x,y","b":"[not, a list]"})"));
  CHECK(parsed("c={d='1,2',e=\"{3}\"}") == Json::parse(R"({"c":{"d":"1,2","e":"{3}"}})"));
  CHECK(parsed("f=[{k='v,w'},{k=x\\,y}]") == Json::parse(R"({"f":[{"k":"v,w"},{"k":"x,y"}]})"));
  CHECK(parsed("b=['a,b',c]") == Json::parse(R"({"b":["a,b","c"]})"));
  CHECK(parsed(R"(a='it\'s',b="say \"hi\"",c=C:\dir,d='C:\dir')") ==
        Json::parse(R"({"a":"it's","b":"say \"hi\"","c":"C:\\dir","d":"C:\\dir"})"));
  CHECK(parsed("a=don't") == Json::parse(R"({"a":"don't"})"));
}

TEST_CASE("shorthand: a schema gives lists, structures and lists of structures", "[shorthand]") {
  CHECK(
      parsed("a=1,b=x,y,c={d=2,e=3,g=p,q},f=[{k=v},{k=w}]", k_nested) ==
      Json::parse(
          R"({"a":"1","b":["x","y"],"c":{"d":"2","e":"3","g":["p","q"]},"f":[{"k":"v"},{"k":"w"}]})"));
  // One value for a list is a list of one; one structure for a list of structures too.
  CHECK(parsed("b=x,f={k=v}", k_nested) == Json::parse(R"({"b":["x"],"f":[{"k":"v"}]})"));
  CHECK(parsed("f={k=v},{k=w}", k_nested) == Json::parse(R"({"f":[{"k":"v"},{"k":"w"}]})"));
  CHECK(parsed("b=[x,y],f=[]", k_nested) == Json::parse(R"({"b":["x","y"],"f":[]})"));
  CHECK(
      parsed("type=LINUX_CONTAINER,image=i,computeType=BUILD_GENERAL1_SMALL,"
             "environmentVariables=[{name=A,value=1,type=PLAINTEXT},{name=B,value='x,y'}]",
             k_environment) ==
      Json::parse(
          R"({"type":"LINUX_CONTAINER","image":"i","computeType":"BUILD_GENERAL1_SMALL",)"
          R"("environmentVariables":[{"name":"A","value":"1","type":"PLAINTEXT"},{"name":"B","value":"x,y"}]})"));
  // A structure whose keys are not listed takes any key.
  ShorthandSchema open = {{"vars", Type::structure, {}}};
  CHECK(parsed("vars={X=1,Y=[a,b]}", open) == Json::parse(R"({"vars":{"X":"1","Y":["a","b"]}})"));
}

TEST_CASE("shorthand: the JSON form is checked against the same schema", "[shorthand]") {
  CHECK(parsed(R"({"a":"1","b":["x"],"c":{"d":"2"},"f":[{"k":"v"}]})", k_nested) ==
        Json::parse(R"({"a":"1","b":["x"],"c":{"d":"2"},"f":[{"k":"v"}]})"));
  // Scalars become text, as shorthand writes them; a single value or structure becomes a list.
  CHECK(parsed(R"({"a":12,"b":true,"c":{"d":1.5},"f":{"k":false}})", k_nested) ==
        Json::parse(R"({"a":"12","b":["true"],"c":{"d":"1.5"},"f":[{"k":"false"}]})"));
  CHECK(parsed(R"( {"x": {"y": [1, {"z": "w"}]}} )") ==
        Json::parse(R"({"x":{"y":["1",{"z":"w"}]}})"));
  // A JSON list is a list of structures, each checked.
  CHECK(parsed(R"([{"a":"1"},{"a":"2"}])", k_nested) == Json::parse(R"([{"a":"1"},{"a":"2"}])"));

  CHECK(bad(R"({"type":"x","imgae":"i"})", k_environment) ==
        R"(--x '{"type":"x","imgae":"i"}': unknown field 'imgae'; did you mean 'image'?)");
  CHECK(
      bad(R"({"zzzz":"x"})", k_environment) ==
      R"(--x '{"zzzz":"x"}': unknown field 'zzzz'; expected type, image, computeType, privilegedMode or )"
      R"(environmentVariables)");
  CHECK(bad(R"({"environmentVariables":[{"name":"A","vlaue":"1"}]})", k_environment) ==
        R"(--x '{"environmentVariables":[{"name":"A","vlaue":"1"}]}': unknown field )"
        R"('environmentVariables[0].vlaue'; did you mean 'value'?)");
  CHECK(bad(R"({"a":["x"]})", k_nested) == R"(--x '{"a":["x"]}': 'a' takes one value, not a list)");
  CHECK(bad(R"({"a":null})", k_nested) == R"(--x '{"a":null}': 'a' has no value (null))");
  CHECK(bad(R"({"x":{"y":[1,{"z":null}]}})") ==
        R"(--x '{"x":{"y":[1,{"z":null}]}}': 'x.y[1].z' has no value (null))");
  CHECK(bad(R"({"c":"x"})", k_nested) ==
        R"(--x '{"c":"x"}': 'c' takes a structure ({key=value,...}), not a plain value)");
  CHECK(bad(R"({"f":["x"]})", k_nested) ==
        R"(--x '{"f":["x"]}': 'f[0]' must be a structure ({key=value,...}), not a plain value)");
  CHECK(bad(R"({"b":[["x"]]})", k_nested) ==
        R"(--x '{"b":[["x"]]}': 'b[0]' must be a plain value, not a list)");
  CHECK(bad(R"(["text"])", k_nested) ==
        R"(--x '["text"]': expected a JSON object or a list of objects)");
  // Only text that starts with '{' or '[' is JSON.
  CHECK(bad(R"("text")", k_nested) == R"(--x '"text"': '"text"' is not of the form name=value)");
  CHECK(bad(R"([{"a":"1"},2])", k_nested) ==
        R"(--x '[{"a":"1"},2]': expected a JSON object or a list of objects)");
  CHECK(bad(R"([{"a":"1"},{"zzz":"2"}])", k_nested) ==
        R"(--x '[{"a":"1"},{"zzz":"2"}]': unknown field '[1].zzz'; expected a, b, c or f)");
  auto invalid = bad(R"({"a":)", k_nested);
  CHECK(invalid.starts_with(R"(--x '{"a":': invalid JSON: )"));
}

TEST_CASE("shorthand: every error names the flag, the argument and the key's path", "[shorthand]") {
  CHECK(bad("") == "--x '': empty; expected key=value[,key=value...]");
  CHECK(bad("   ", k_nested) == "--x '   ': empty; expected a, b, c or f");
  const ShorthandSchema named = {{"name"}};
  CHECK(bad("nmae=x", named) == "--x 'nmae=x': unknown field 'nmae'; did you mean 'name'?");
  CHECK(bad("c={d=1,zzz=2}", k_nested) ==
        "--x 'c={d=1,zzz=2}': unknown field 'c.zzz'; expected d, e or g");
  CHECK(bad("f=[{k=v},{kk=w}]", k_nested) ==
        "--x 'f=[{k=v},{kk=w}]': unknown field 'f[1].kk'; did you mean 'k'?");
  CHECK(bad("environmentVariables=[{name=A,vale=1}]", k_environment) ==
        "--x 'environmentVariables=[{name=A,vale=1}]': unknown field "
        "'environmentVariables[0].vale'; did you mean "
        "'value'?");
  CHECK(bad("a=1,a=2", k_nested) == "--x 'a=1,a=2': field 'a' is given twice");
  CHECK(bad("c={d=1,d=2}", k_nested) == "--x 'c={d=1,d=2}': field 'c.d' is given twice");
  CHECK(bad("a=1,2", k_nested) ==
        "--x 'a=1,2': 'a' takes one value; got another, '2' (quote a value that holds a ',')");
  CHECK(
      bad("c={d=1,2}", k_nested) ==
      "--x 'c={d=1,2}': 'c.d' takes one value; got another, '2' (quote a value that holds a ',')");
  CHECK(bad("x", k_nested) == "--x 'x': 'x' is not of the form name=value");
  CHECK(bad("a=1,,b=2", k_nested) == "--x 'a=1,,b=2': empty field: remove the stray ','");
  CHECK(bad("a=[1]", k_nested) == "--x 'a=[1]': 'a' takes one value, not a list");
  CHECK(bad("a={d=1}", k_nested) == "--x 'a={d=1}': 'a' takes one value, not a structure");
  CHECK(bad("b={d=1}", k_nested) == "--x 'b={d=1}': 'b' takes a list of values, not a structure");
  CHECK(bad("b=[x,{d=1}]", k_nested) ==
        "--x 'b=[x,{d=1}]': 'b[1]' must be a plain value, not a structure");
  CHECK(bad("b=x,[y]", k_nested) == "--x 'b=x,[y]': 'b[1]' must be a plain value, not a list");
  CHECK(bad("c=x", k_nested) ==
        "--x 'c=x': 'c' takes a structure ({key=value,...}), not a plain value");
  CHECK(bad("c=[x]", k_nested) ==
        "--x 'c=[x]': 'c' takes a structure ({key=value,...}), not a list");
  CHECK(bad("f=x", k_nested) ==
        "--x 'f=x': 'f' must be a structure ({key=value,...}), not a plain value");
  CHECK(bad("f=[{k=v},x]", k_nested) ==
        "--x 'f=[{k=v},x]': 'f[1]' must be a structure ({key=value,...}), not a "
        "plain value");
  CHECK(bad("f={k=v},x", k_nested) ==
        "--x 'f={k=v},x': 'f[1]' must be a structure ({key=value,...}), not a plain "
        "value");
  CHECK(bad("a='x", k_nested) == "--x 'a='x': unterminated quote");
  CHECK(bad("c={d=[1}", k_nested) ==
        "--x 'c={d=[1}': unbalanced brackets: a '[' or '{' is not closed");
  CHECK(bad("a=1]", k_nested) == "--x 'a=1]': unbalanced ']'");
  // Nesting is limited (32 levels), so a pathological argument cannot exhaust the stack.
  std::string deep = "a=" + std::string(40, '[') + std::string(40, ']');
  std::string path = "a";
  for (int i = 0; i < 32; ++i) path += "[0]";
  CHECK(bad(deep) ==
        fmt::format("--x '{}': '{}' is nested too deeply (more than 32 levels)", deep, path));
  std::string deep_json;
  for (int i = 0; i < 40; ++i) deep_json += R"({"a":)";
  deep_json += "1" + std::string(40, '}');
  CHECK(bad(deep_json).ends_with("is nested too deeply (more than 32 levels)"));
  std::string nested_32 = "a=";
  for (int i = 0; i < 31; ++i) nested_32 += "{a=";
  nested_32 += "1" + std::string(31, '}');
  CHECK(parse_cli_structure(nested_32, "--x", {}));
  CHECK(parse_cli_structure("a=[1]", "--x", k_nested).error().kind == ErrorKind::usage);
  CHECK(error_of(parse_cli_structure("nmae=x", "--environment", k_environment))
            .starts_with("--environment 'nmae=x': "));
}

TEST_CASE("shorthand: a list of structures from several arguments", "[shorthand]") {
  const ShorthandSchema source = {{"type"}, {"location"}, {"sourceIdentifier"}};
  std::vector<std::string> args = {"type=S3,location=a,sourceIdentifier=one",
                                   R"([{"type":"S3","location":"b"},{"type":"S3","location":"c"}])",
                                   R"({"type":"S3","location":"d"})"};
  auto all = parse_cli_structures(args, "--secondary-sources", source);
  REQUIRE(all);
  CHECK(
      *all ==
      Json::parse(
          R"([{"type":"S3","location":"a","sourceIdentifier":"one"},{"type":"S3","location":"b"},)"
          R"({"type":"S3","location":"c"},{"type":"S3","location":"d"}])"));
  auto none = parse_cli_structures({}, "--secondary-sources", source);
  REQUIRE(none);
  CHECK(*none == Json::array());
  std::vector<std::string> wrong = {"type=S3", "tpye=S3"};
  CHECK(error_of(parse_cli_structures(wrong, "--secondary-sources", source)) ==
        "--secondary-sources 'tpye=S3': unknown field 'tpye'; did you mean 'type'?");
}
