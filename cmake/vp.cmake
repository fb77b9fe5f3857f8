# vp_library(), vp_test(), vp_binary(): one place for warnings, sanitizers and naming.
#
#   vp_library(eth SRCS rlp.cc ... DEPS vp::crypto)   -> target vp_eth, alias vp::eth
#   vp_test(rlp_test SRCS rlp_test.cc DEPS vp::eth)    -> gtest binary, registered with ctest (label unit)

set(VP_WARNINGS -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)

function(vp_apply_options target)
  target_compile_options(${target} PRIVATE ${VP_WARNINGS})
  if(VP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(VP_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# The sanitizer preset compiles at -O0: the Beast/Asio coroutine files take 2.5 times as long
# to compile at -O1 under ASan (server.cc: 91 s against 229 s), and CI builds everything
# twice on two cores. The arithmetic libraries keep -O1: their tests (Poseidon2 trees, STARK
# proofs) run about ten times slower unoptimized.
function(vp_optimize_under_sanitizers target)
  if(VP_SANITIZE)
    target_compile_options(${target} PRIVATE -O1)
  endif()
endfunction()

function(vp_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(vp_${name} STATIC ${ARG_SRCS})
  add_library(vp::${name} ALIAS vp_${name})
  target_include_directories(vp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(vp_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  vp_apply_options(vp_${name})
endfunction()

function(vp_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  vp_apply_options(${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_test(NAME ${name} COMMAND ${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}"
    ENVIRONMENT "VP_SOURCE_DIR=${PROJECT_SOURCE_DIR};VP_BIN_DIR=${CMAKE_BINARY_DIR}/bin")
endfunction()

function(vp_binary name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  vp_apply_options(${name})
endfunction()
