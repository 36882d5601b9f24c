// The code generator's fingerprint (see compiler.h), generated at build time.
#include "compiler/codegen_fingerprint.h"
#include "compiler/compiler.h"

namespace wink::compiler {

const CodegenFingerprint& codegen_fingerprint() {
  static const CodegenFingerprint fingerprint{generated::kCodegenFingerprint,
                                              generated::kCodegenWabtVersion,
                                              generated::kCodegenSources};
  return fingerprint;
}

}  // namespace wink::compiler
