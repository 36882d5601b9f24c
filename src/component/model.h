// What a parsed component is: its definitions in every index space (core
// funcs/tables/memories/globals/tags/types/modules/instances; component
// funcs/values/types/instances/components), with aliases resolved to the
// definition or type they name, its imports and exports, and the order in
// which definitions appear (the order a linker instantiates them in).
// Core modules stay byte ranges of the original file for the compile pipeline.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "component/types.h"

namespace wink::component {

// core:sort, with the binary's opcodes.
enum class CoreSort : uint8_t {
  Func = 0x00, Table = 0x01, Memory = 0x02, Global = 0x03, Tag = 0x04,
  Type = 0x10, Module = 0x11, Instance = 0x12,
};
enum class Sort : uint8_t { Core = 0x00, Func = 0x01, Value = 0x02, Type = 0x03, Component = 0x04, Instance = 0x05 };
const char* sort_name(Sort s, CoreSort core = CoreSort::Func);

struct SortIdx {
  Sort sort = Sort::Func;
  CoreSort core_sort = CoreSort::Func;  // when sort == Core
  uint32_t index = 0;
};

// An import or export name: "wasi:http/incoming-handler@0.2.3" splits into
// namespace "wasi", package "http", interface "incoming-handler", version
// "0.2.3"; plain names ("log", "[method]counter.bump") keep only `text`.
struct ExternName {
  std::string text;
  std::string ns, package, interface, version;
  bool is_interface() const { return !interface.empty(); }
  // "wasi:http/incoming-handler" without the version.
  std::string unversioned() const;
};
Result<ExternName> parse_extern_name(const std::string& text);

enum class StringEncoding : uint8_t { Utf8, Utf16, Latin1Utf16 };
const char* string_encoding_name(StringEncoding e);

struct CanonOptions {
  StringEncoding string_encoding = StringEncoding::Utf8;
  std::optional<uint32_t> memory;       // core memory index
  std::optional<uint32_t> realloc;      // core func index
  std::optional<uint32_t> post_return;  // core func index
  std::optional<uint32_t> callback;     // core func index (async)
  bool async = false;
};

// ---- Types ----

struct TypeDef;
using TypeDefPtr = std::shared_ptr<const TypeDef>;
struct CoreTypeDef;
using CoreTypeDefPtr = std::shared_ptr<const CoreTypeDef>;

struct ExternType {
  Sort sort = Sort::Func;  // Core means a core module
  TypeDefPtr type;         // Func, Component, Instance, Type (the bound type)
  ValTypePtr value;        // Value
  CoreTypeDefPtr core_module;
};

struct ExternDecl {
  ExternName name;
  ExternType type;
};

struct ComponentTypeDef {
  std::vector<ExternDecl> imports;
  std::vector<ExternDecl> exports;
};

struct InstanceTypeDef {
  std::vector<ExternDecl> exports;
  const ExternDecl* find(const std::string& name) const;
};
using InstanceTypeDefPtr = std::shared_ptr<const InstanceTypeDef>;

struct ResourceDef {
  ResourceId id = 0;
  // Defined here (`(resource (rep i32) (dtor f))`) or abstract (imported or
  // exported with `(sub resource)`).
  bool defined = false;
  std::optional<uint32_t> dtor;  // core func index
};

struct TypeDef {
  enum class Kind : uint8_t { Value, Func, Component, Instance, Resource } kind = Kind::Value;
  ValTypePtr value;
  FuncTypePtr func;
  std::shared_ptr<const ComponentTypeDef> component;
  InstanceTypeDefPtr instance;
  ResourceDef resource;
};
const char* type_kind_name(TypeDef::Kind k);

struct CoreImportDecl {
  std::string module, name;
  CoreSort kind = CoreSort::Func;
  std::optional<CoreFuncSig> func;  // for functions
};
struct CoreExportDecl {
  std::string name;
  CoreSort kind = CoreSort::Func;
  std::optional<CoreFuncSig> func;
};

struct CoreTypeDef {
  enum class Kind : uint8_t { Func, Module } kind = Kind::Func;
  CoreFuncSig func;
  std::vector<CoreImportDecl> imports;  // Module
  std::vector<CoreExportDecl> exports;  // Module
};

// ---- Definitions in each index space ----

struct CoreModuleDef {
  enum class Kind : uint8_t { Defined, Import, OuterAlias } kind = Kind::Defined;
  uint64_t offset = 0;  // Defined: the module's bytes in the file
  uint64_t size = 0;
  // Imports and exports of the module (scanned from its bytes, or its type).
  std::vector<CoreImportDecl> imports;
  std::vector<CoreExportDecl> exports;
  bool exports_known = false;
};

struct CoreInlineExport {
  std::string name;
  CoreSort sort = CoreSort::Func;
  uint32_t index = 0;
};

struct CoreInstanceDef {
  enum class Kind : uint8_t { Instantiate, Exports } kind = Kind::Instantiate;
  uint32_t module = 0;
  std::vector<std::pair<std::string, uint32_t>> args;  // name -> core instance
  std::vector<CoreInlineExport> exports;
  // Look up an export's sort and index (Exports kind), or its declared kind
  // (Instantiate of a module whose exports are known).
};

// A core func, table, memory, global or tag.
struct CoreItemDef {
  enum class Kind : uint8_t {
    AliasExport,    // (alias core export instance "name")
    CanonLower,     // (canon lower func opts)
    ResourceNew, ResourceDrop, ResourceRep,
  } kind = Kind::AliasExport;
  uint32_t instance = 0;  // AliasExport: core instance
  std::string name;
  uint32_t func = 0;      // CanonLower: component func
  CanonOptions options;
  TypeDefPtr resource;    // Resource*: the resource type
  std::optional<CoreFuncSig> signature;  // core funcs, when known
};

struct FuncDef {
  enum class Kind : uint8_t { Import, AliasExport, CanonLift } kind = Kind::Import;
  uint32_t import = 0;     // Import: index into Component::imports
  uint32_t instance = 0;   // AliasExport: component instance
  std::string name;
  uint32_t core_func = 0;  // CanonLift
  CanonOptions options;
  FuncTypePtr type;
};

struct InstanceDef {
  enum class Kind : uint8_t { Import, AliasExport, Instantiate, Exports } kind = Kind::Import;
  uint32_t import = 0;
  uint32_t instance = 0;   // AliasExport
  std::string name;
  uint32_t component = 0;  // Instantiate
  std::vector<std::pair<std::string, SortIdx>> args;  // Instantiate
  std::vector<std::pair<ExternName, SortIdx>> exports;  // Exports
  InstanceTypeDefPtr type;  // when known
};

struct Component;

struct ComponentDef {
  enum class Kind : uint8_t { Nested, Import, OuterAlias } kind = Kind::Nested;
  std::shared_ptr<const Component> nested;  // Nested and OuterAlias (when a definition)
  uint32_t import = 0;
  std::shared_ptr<const ComponentTypeDef> type;  // Import
};

struct ValueDef {
  enum class Kind : uint8_t { Import, AliasExport } kind = Kind::Import;
  uint32_t index = 0;
  ValTypePtr type;
};

struct Import {
  ExternName name;
  ExternType type;
};

struct Export {
  ExternName name;
  SortIdx item;
  std::optional<ExternType> ascribed;
};

struct Start {
  uint32_t func = 0;
  std::vector<uint32_t> args;
  uint32_t results = 0;
};

struct Component {
  uint64_t offset = 0;  // of the preamble in the file
  uint64_t size = 0;
  uint32_t depth = 0;   // 0: the outermost component

  // Core index spaces.
  std::vector<CoreItemDef> core_funcs, core_tables, core_memories, core_globals, core_tags;
  std::vector<CoreTypeDefPtr> core_types;
  std::vector<CoreModuleDef> core_modules;
  std::vector<CoreInstanceDef> core_instances;
  // Component index spaces.
  std::vector<FuncDef> funcs;
  std::vector<ValueDef> values;
  std::vector<TypeDefPtr> types;
  std::vector<InstanceDef> instances;
  std::vector<ComponentDef> components;

  std::vector<Import> imports;
  std::vector<Export> exports;
  std::optional<Start> start;
  // Every definition in the order the binary gives them.
  std::vector<SortIdx> order;

  const Export* find_export(const std::string& name) const;
  const Import* find_import(const std::string& name) const;
};

}  // namespace wink::component
