// The CloudFormation resolver's insides, shared by cloudformation.cpp (the template: sections,
// parameters, conditions, references) and cloudformation_functions.cpp (the Fn:: functions).
// Not a public header.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "formats/cloudformation.hpp"

namespace cicd::cfn::detail {

// Bounds every recursion: nesting, and chains of references (a Ref to a resource whose name is a
// Ref to another ...), which memos and cycle checks already keep finite.
inline constexpr int k_max_depth = 512;

// What a resolution writes besides the value: positions and unresolved parts, by pointer.
struct Sink {
  std::map<std::string, Position> positions;
  std::map<std::string, std::string> unresolved;
  // An error made a value in it meaningless (already reported): whoever uses it says nothing more.
  bool failed = false;
};

// A value resolved on its own (a function's argument), at pointer "" of its own sink.
struct Evaluated {
  std::optional<Json> value;  // nullopt: AWS::NoValue
  Sink sink;
  bool failed() const { return sink.failed; }
  bool unresolved() const { return !sink.unresolved.empty(); }
  // What is unknown in it, every part once, in order.
  std::vector<std::string> unknowns() const;
};

inline std::string child(const std::string& pointer, std::string_view key) {
  return pointer + "/" + yaml::escape_pointer(key);
}
inline std::string child(const std::string& pointer, size_t index) {
  return pointer + "/" + std::to_string(index);
}

// The placeholder standing for a value known only in AWS ("<!GetAtt A.B>").
std::string placeholder(std::string_view what);

// "a list", "a mapping", "null", "a number", or the string quoted: for "got ..." texts.
std::string describe(const Json& value);

// A scalar as text ("1", "true", "x"); nullopt for null, lists and mappings.
std::optional<std::string> scalar_text(const Json& value);

enum class Mode {
  template_document,  // a template: names must be declared in it
  bare_value,         // a value outside any template: unknown names are unknown, not errors
};

class Resolver {
 public:
  Resolver(const yaml::PositionedJson& document, const TemplateContext& context,
           Diagnostics& diagnostics, Mode mode);

  // The template's sections checked, conditions evaluated (the template mode's first step).
  void check_template();
  std::vector<Resource> resources(std::string_view type);
  ResolvedValue whole();

  // ---- shared by the two translation units ----

  // Resolves `node` (found at `source` in the document) into `sink` at `out`; nullopt when it is
  // AWS::NoValue (the enclosing key or element goes away).
  std::optional<Json> resolve(const Json& node, const std::string& source, const std::string& out,
                              Sink& sink, int depth);
  Evaluated evaluate(const Json& node, const std::string& source, int depth);
  // An argument that must be a string (numbers and booleans are taken as text). Unknown parts go
  // to `unknowns`; nullopt after an error (reported here unless the argument's own errors say it).
  std::optional<std::string> string_argument(const Json& node, const std::string& source, int depth,
                                             std::string_view what,
                                             std::vector<std::string>& unknowns);
  // Copies what `from` has at and below `from_pointer` to `into` below `to_pointer`, except the
  // position of `to_pointer` itself (a function's result stays at the function).
  static void graft(const Sink& from, const std::string& from_pointer,
                    const std::string& to_pointer, Sink& into);

  Position position(const std::string& source) const { return m_document.at(source); }
  Diagnostics& diagnostics() { return m_diagnostics; }
  const TemplateContext& context() const { return m_context; }
  Mode mode() const { return m_mode; }
  const Json& section(std::string_view name) const;

  // Marks the value at `out` as known only in AWS: a warning at `where` saying what it was taken
  // as and how to give it (`--value give`), and the placeholder as the value.
  Json unknown(Sink& sink, const std::string& out, Position where, const std::string& what,
               std::string_view why, std::string_view give);
  // Marks the value at `out` as built from unknown parts (no warning: each part had its own).
  static void built_from(Sink& sink, const std::string& out,
                         const std::vector<std::string>& unknowns);

  // Marks `sink` failed (an error was reported) and gives the value that stands for nothing.
  static Json failed(Sink& sink);

  // Ref and Fn::GetAtt by name (Fn::Sub's ${Name} and ${Res.Attr} too); `written` is how the
  // template says it ("Ref X", "${X}"), for messages.
  std::optional<Json> ref(const std::string& name, std::string_view written, Position where,
                          const std::string& out, Sink& sink, int depth);
  Json get_att(const std::string& logical_id, const std::string& attribute,
               std::string_view written, Position where, const std::string& out, Sink& sink,
               int depth);
  // The condition's truth, nullopt after an error (reported at `where`, or at the condition).
  std::optional<bool> condition(const std::string& name, Position where, int depth);

  // Ref and the Fn:: functions (cloudformation_functions.cpp): the call `{function: argument}` is
  // at `where`, its argument at `source`.
  std::optional<Json> call(const std::string& function, const Json& argument,
                           const std::string& source, Position where, const std::string& out,
                           Sink& sink, int depth);

 private:
  struct Parameter {
    Json value;
    std::string unknown;  // what is unknown: set for a value AWS reads from SSM
    std::string ssm_name;
    std::string why;  // why it is unknown, when it is not an SSM parameter's value
    bool failed = false;
  };
  struct Name {
    Json value;
    std::vector<std::string> unknowns;
    bool logical_id = false;  // taken as the logical id: the template does not name it
    bool failed = false;
  };

  std::optional<Json> pseudo_parameter(const std::string& name);
  // A parameter's value, read once (its errors are reported once, at the parameter).
  const Parameter& parameter(const std::string& name);
  Parameter read_parameter(const std::string& name);
  // The physical name of a resource whose type names its resources by `property`.
  const Name& physical_name(const std::string& logical_id, const std::string& property, int depth);
  // The resource's definition, or null; reports a resource left out by its condition.
  const Json* resource(const std::string& logical_id, Position where, std::string_view what,
                       int depth);
  std::optional<bool> condition_value(const Json& node, const std::string& source, int depth);
  std::optional<bool> condition_list(const std::string& function, const Json& argument,
                                     const std::string& source, int depth);
  bool check_resources();
  void check_transforms();
  void check_overrides();
  // "; did you mean 'X'?" when a declared name (or pseudo parameter) is close to `name`.
  std::string names_hint(const std::string& name, bool resources_only) const;
  // Says that a reference to a resource was taken as its logical id.
  void logical_id_warning(std::string_view written, const std::string& logical_id,
                          const std::string& give, Position where);

  const yaml::PositionedJson& m_document;
  const TemplateContext& m_context;
  Diagnostics& m_diagnostics;
  Mode m_mode;
  std::map<std::string, Parameter> m_parameters;
  std::map<std::string, std::optional<bool>> m_conditions;  // evaluated; nullopt: failed
  std::vector<std::string> m_evaluating;                    // conditions being evaluated, in order
  std::map<std::string, Name> m_names;
  std::set<std::string> m_naming;  // resources whose name is being resolved
  Name m_cyclic_name;              // what a name that depends on itself resolves to
};

}  // namespace cicd::cfn::detail
