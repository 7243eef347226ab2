# One object library per layer of cmake/layers.txt (xgrad_core, xgrad_kernels, ...); `xgrad` is all of
# them in one archive, as users link it. Each layer compiles against a view of the tree holding only
# its own headers and folders and those of the layers it may use, so an upward #include fails to
# compile; scripts/check_layers.py also checks every #include (with file and line) before building,
# and every symbol after it (--objects).
file(STRINGS ${PROJECT_SOURCE_DIR}/cmake/layers.txt XGRAD_LAYER_LINES REGEX "^[a-z]")
set(XGRAD_LAYERS)
foreach(line IN LISTS XGRAD_LAYER_LINES)
  string(REPLACE "|" ";" cols "${line}")
  list(GET cols 0 name)
  list(GET cols 1 folders)
  list(GET cols 2 headers)
  list(GET cols 3 uses)
  foreach(v name folders headers uses)
    string(STRIP "${${v}}" ${v})
  endforeach()
  separate_arguments(folders)
  separate_arguments(headers)
  separate_arguments(uses)
  list(REMOVE_ITEM uses "-")
  set(XGRAD_LAYER_${name}_FOLDERS ${folders})
  set(XGRAD_LAYER_${name}_HEADERS ${headers})

  # The layer sees only its own headers and those of the layers it may use: a folder of links per
  # layer (build/layers/<layer>) holds them, so an upward #include does not compile.
  set(view ${PROJECT_BINARY_DIR}/layers/${name})
  file(REMOVE_RECURSE ${view})
  file(MAKE_DIRECTORY ${view}/xgrad)
  foreach(seen IN LISTS uses name)
    foreach(h IN LISTS XGRAD_LAYER_${seen}_HEADERS)
      string(REGEX REPLACE "/$" "" h "${h}")
      get_filename_component(parent ${view}/xgrad/${h} DIRECTORY)
      file(MAKE_DIRECTORY ${parent})
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/xgrad/${h} ${view}/xgrad/${h} SYMBOLIC)
    endforeach()
    foreach(f IN LISTS XGRAD_LAYER_${seen}_FOLDERS)
      get_filename_component(base ${f} NAME)
      file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${f} ${view}/${base} SYMBOLIC)
    endforeach()
  endforeach()

  set(globs)
  foreach(f IN LISTS folders)
    list(APPEND globs ${PROJECT_SOURCE_DIR}/${f}/*.cpp)
  endforeach()
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${globs})
  add_library(xgrad_${name} OBJECT ${sources})
  target_include_directories(xgrad_${name} PRIVATE ${view})
  target_compile_features(xgrad_${name} PRIVATE cxx_std_20)
  set_target_properties(xgrad_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  # xtensor, xsimd, zlib and nlohmann-json stay private: public headers name xgrad types only.
  target_link_libraries(xgrad_${name} PRIVATE fmt::fmt OpenMP::OpenMP_CXX xtensor xsimd ZLIB::ZLIB
                                              nlohmann_json::nlohmann_json xgrad_options)
  list(APPEND XGRAD_LAYERS ${name})
endforeach()
