# Turns a text file into a C++ source defining `const char* const NAME` (a raw string literal),
# so assets such as the status page are compiled into the binary with no file to install.
#   cmake -DINPUT=page.html -DOUTPUT=page.cpp -DNAME=bcast::io::kStatusPageHtml -P embed_text.cmake
file(READ "${INPUT}" content)
set(delimiter "bcast_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )${delimiter}\"")
endif()
string(REGEX MATCH "^(.*)::([^:]+)$" qualified "${NAME}")
if(qualified)
  set(namespace "${CMAKE_MATCH_1}")
  set(symbol "${CMAKE_MATCH_2}")
  set(text "// Generated from ${INPUT} by cmake/embed_text.cmake; do not edit.\nnamespace ${namespace} {\nextern const char* const ${symbol};\nconst char* const ${symbol} = R\"${delimiter}(${content})${delimiter}\";\n}  // namespace ${namespace}\n")
else()
  message(FATAL_ERROR "NAME must be namespace-qualified: ${NAME}")
endif()
file(WRITE "${OUTPUT}" "${text}")
