/* The contract between a compiled artifact (a shared object built from
 * wasm2c output plus a glue file written by the compiler) and the engine that
 * dlopen()s it. C, because the glue is compiled by the system C compiler.
 *
 * The glue defines one symbol, `wink_artifact`, describing the module with
 * module-independent entry points, so the engine never needs the module's
 * generated names. Bump WINK_ARTIFACT_ABI when this struct changes. */
#ifndef WINK_RUNTIME_ARTIFACT_ABI_H_
#define WINK_RUNTIME_ARTIFACT_ABI_H_

#include <stdint.h>

#include "wasm-rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WINK_ARTIFACT_ABI 6

/* Value types in signature strings: one char per value.
 * 'i' i32, 'I' i64, 'f' f32, 'F' f64, 'r' funcref, 'e' externref. */

/* Calls an exported function: arguments and results are 64-bit slots holding
 * the value's bits (f32/f64 by bit pattern, i32 zero-extended). */
typedef void (*wink_trampoline_t)(void* instance, const uint64_t* args, uint64_t* results);

/* Funcref values in those slots (defined by the runtime, called by the
 * glue). A result is an opaque identity: 0 for null, else the same non-zero
 * value for the same function of the same instance, never an address. An
 * argument must be null: any other slot value traps (a host holds no
 * funcref it could give back safely, and a forged one would be a jump to
 * an arbitrary address). */
uint64_t wink_funcref_identity(const wasm_rt_funcref_t* ref);
wasm_rt_funcref_t wink_funcref_argument(uint64_t slot);

typedef enum {
  WINK_EXTERN_FUNC = 0,
  WINK_EXTERN_MEMORY = 1,
  WINK_EXTERN_TABLE = 2,
  WINK_EXTERN_GLOBAL = 3,
} wink_extern_kind_t;

typedef struct {
  const char* name;          /* export name as in the module (UTF-8) */
  uint32_t kind;             /* wink_extern_kind_t */
  const char* params;        /* signature (functions), or the global's type */
  const char* results;
  wink_trampoline_t call;    /* functions only */
  void* (*get)(void* instance); /* memory/table/global: pointer to the runtime object */
  /* ABI 4. Functions: the generated C function itself, wasm2c's calling
   * convention `R f(void* instance, args...)`, for direct calls from another
   * instance through a link slot (see wink_link_slot_t). */
  void* native;
} wink_export_t;

/* ABI 4: modules compiled for linking (components). Each import, of any
 * kind, is bound per instance through one slot of a link table the engine
 * fills before instantiation; the glue defines every import symbol itself
 * (hidden), so nothing binds against the executable by name.
 *
 * Globals: params is the value type, results "m" when mutable. Memories and
 * tables: min/max in pages/elements (max UINT64_MAX: none); tables have
 * params "r" (funcref) or "e" (externref). */
typedef struct {
  const char* module;
  const char* name;
  uint32_t kind;             /* wink_extern_kind_t */
  const char* params;
  const char* results;
  uint64_t min, max;
} wink_import_t;

/* One import of one instance. Functions: `target` is a native function with
 * the import's exact signature (wasm2c convention), called with `instance`
 * as its first argument; when `target` is NULL, `host` is called instead
 * with the arguments and results in 64-bit slots (as wink_trampoline_t) and
 * `instance` as its first argument. Memories, tables, globals: `target`
 * points to the runtime object (wasm_rt_memory_t, wasm_rt_funcref_table_t,
 * wasm_rt_externref_table_t, or the global's value). */
typedef struct {
  void* target;
  void* instance;
  wink_trampoline_t host;
} wink_link_slot_t;

/* Every field of the generated instance struct has one of these kinds (the
 * compiler classifies each field by an explicit list, see codegen.cpp). Plain
 * data (numeric globals, segment-dropped flags) is copied as is by snapshots
 * and not listed in instance_fields; every other field is listed. A snapshot
 * is refused, with the field named, when a field's kind is not one the engine
 * knows how to capture and restore. */
typedef enum {
  WINK_FIELD_MEMORY = 0,          /* wasm_rt_memory_t defined by the module */
  WINK_FIELD_FUNCREF_TABLE = 1,   /* wasm_rt_funcref_table_t defined by the module */
  WINK_FIELD_EXTERNREF_TABLE = 2, /* wasm_rt_externref_table_t defined by the module */
  WINK_FIELD_IMPORT_INSTANCE = 3, /* host instance pointer of import_modules[index] */
  WINK_FIELD_IMPORTED_OBJECT = 4, /* pointer to an imported memory/table/global/tag */
  WINK_FIELD_FUNCREF_GLOBAL = 5,  /* wasm_rt_funcref_t global defined by the module */
  WINK_FIELD_EXTERNREF_GLOBAL = 6,/* wasm_rt_externref_t global defined by the module */
  WINK_FIELD_UNKNOWN = 7,         /* a field the compiler could not classify */
} wink_field_kind_t;

typedef struct {
  uint32_t kind;    /* wink_field_kind_t */
  uint32_t index;   /* WINK_FIELD_IMPORT_INSTANCE: index into import_modules */
  uint64_t offset;  /* offsetof(instance struct, field); 0 for WINK_FIELD_UNKNOWN */
  const char* decl; /* the field's C declaration, for error messages */
} wink_instance_field_t;

/* A function the module imports, with the address the dynamic linker bound
 * it to (wink's own export): lets a snapshot name a host function held in a
 * table or global by (module, name) and find it again without dlsym. */
typedef struct {
  const char* module;
  const char* name;
  wasm_rt_function_ptr_t func;
} wink_import_func_t;

typedef struct {
  uint32_t abi;                  /* WINK_ARTIFACT_ABI */
  const char* engine_version;    /* wink::kEngineVersion at compile time */
  const char* module_hash;       /* sha256 of the module bytes */
  const char* compile_flags;     /* optimization level etc., informational */
  uint64_t instance_size;        /* sizeof the generated instance struct */

  void (*init_module)(void);     /* once per process, before instantiate */
  /* import_instances[i] is the host's instance pointer for import_modules[i]. */
  void (*instantiate)(void* instance, void* const* import_instances);
  void (*free_instance)(void* instance);
  /* The module's memory 0 (defined or imported), or NULL when it has none. */
  wasm_rt_memory_t* (*memory)(void* instance);

  uint32_t num_import_modules;
  const char* const* import_modules;
  uint32_t num_exports;
  const wink_export_t* exports;

  /* Snapshots. Instance-struct fields that are not plain data, in struct order. */
  uint32_t num_instance_fields;
  const wink_instance_field_t* instance_fields;
  /* Runtime ids (wasm_rt_register_func_type) of the module's function types,
   * in type-section order; filled in by init_module. Lets a snapshot store a
   * table entry's type portably (as an index) and restore it in another process. */
  uint32_t num_func_types;
  const uint32_t* func_type_ids;
  /* ABI 3. Every imported function, in import-section order. */
  uint32_t num_import_funcs;
  const wink_import_func_t* import_funcs;
  /* ABI 4. Non-zero when compiled for linking: instantiate then takes, for
   * every import module, the same pointer: the instance's link table, whose
   * slot 0 is a header whose `target` points to the table itself, then one
   * wink_link_slot_t per import in import-section order (import k: slot
   * k + 1). wasm2c 1.0.32 gives an imported function either the import
   * module's instance pointer (calls, ref.func) or the address of the
   * instance field holding it (functions put in a table by an element
   * segment); the bridge reads one pointer through what it gets and lands on
   * the table either way. */
  uint32_t linked;
  uint32_t num_imports;
  const wink_import_t* imports;
  /* ABI 5. Non-zero when the module has a start function: its instantiation
   * runs guest code (which may call its imports), so it is not made ahead. */
  uint32_t has_start;
  /* ABI 6. The start function, run by the engine after instantiate once the
   * hosts have the instance's memory; NULL when there is none, or when
   * instantiate runs it itself (a shape the compiler could not separate,
   * such as an imported start function). */
  void (*start)(void* instance);
} wink_artifact_t;

#ifdef __cplusplus
}
#endif

#endif /* WINK_RUNTIME_ARTIFACT_ABI_H_ */
