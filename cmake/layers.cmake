# One object library per layer of cmake/layers.txt (xgrad_core, xgrad_kernels, ...); `xgrad` is all of
# them in one archive, as users link it. The layers' edges are checked on every #include by
# scripts/check_layers.py and on every symbol by scripts/check_layers.sh (after a build).
file(STRINGS ${PROJECT_SOURCE_DIR}/cmake/layers.txt XGRAD_LAYER_LINES REGEX "^[a-z]")
set(XGRAD_LAYERS)
foreach(line IN LISTS XGRAD_LAYER_LINES)
  string(REPLACE "|" ";" cols "${line}")
  list(GET cols 0 name)
  list(GET cols 1 folders)
  string(STRIP "${name}" name)
  string(STRIP "${folders}" folders)
  separate_arguments(folders)
  set(globs)
  foreach(f IN LISTS folders)
    list(APPEND globs ${PROJECT_SOURCE_DIR}/${f}/*.cpp)
  endforeach()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${globs})
  add_library(xgrad_${name} OBJECT ${sources})
  target_include_directories(xgrad_${name} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src
                                                   ${PROJECT_SOURCE_DIR})
  target_compile_features(xgrad_${name} PRIVATE cxx_std_20)
  set_target_properties(xgrad_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  # xtensor, xsimd, zlib and nlohmann-json stay private: public headers name xgrad types only.
  target_link_libraries(xgrad_${name} PRIVATE fmt::fmt OpenMP::OpenMP_CXX xtensor xsimd ZLIB::ZLIB
                                              nlohmann_json::nlohmann_json xgrad_options)
  list(APPEND XGRAD_LAYERS ${name})
endforeach()
