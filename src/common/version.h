// Engine identity: part of every artifact and snapshot key, so a change of
// engine or ABI never loads stale native code.
#pragma once

namespace wink {
inline constexpr const char* kVersion = "0.1.0";
// Bump when generated-code ABI, runtime ABI or compile flags change meaning.
inline constexpr const char* kEngineVersion = "wink-engine-2";
}  // namespace wink
