# Build-time helper: embeds a text file as a C++ raw string constant.
#   cmake -DINPUT=file -DOUTPUT=header.h -DNAME=kName -P embed_text.cmake
file(READ ${INPUT} content)
file(WRITE ${OUTPUT}.tmp
  "// Generated from ${INPUT} by embed_text.cmake; do not edit.\n#pragma once\n"
  "namespace wink::compiler {\ninline constexpr const char ${NAME}[] = R\"wink_embed(${content})wink_embed\";\n}\n")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
