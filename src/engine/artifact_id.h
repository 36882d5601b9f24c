// The identity of a loaded artifact's code, which snapshots are bound to.
//
// A snapshot stores function references as offsets into the artifact it was
// taken on. The same module compiled another way (-O0 quick tier vs
// optimized, another C compiler after an update, other flags, a sanitized
// build) has the same module hash but other code at those offsets, so a
// snapshot must name the exact artifact, not just the module.
#pragma once

#include <string>

namespace wink::engine {

class Module;

// "gnu-build-id:<hex>", the linker's build id of the loaded shared object (a
// hash of its contents, computed by the linker; free to read). Without one
// (a linker that writes none), "text-sha256:<hex>": sha256 over the loaded
// object's read-only segments (code and constants, never relocated), read in
// memory, so it names the code actually loaded even if the file was replaced
// since. Empty only when the object cannot be found (an internal error).
std::string artifact_id(const Module& module);

}  // namespace wink::engine
