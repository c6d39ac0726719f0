# A short, deterministic fuzzer run for CTest:
#   cmake -DFUZZER=<binary> -DCORPUS=<seed dir> -DSCRATCH=<dir> -DRUNS=<n> [-DDICT=<file>]
#         -P run_smoke.cmake
# The scratch directory is emptied first, so every run starts from the committed seeds alone
# and new inputs never land in the source tree (libFuzzer writes to its first directory).
foreach(variable IN ITEMS FUZZER CORPUS SCRATCH RUNS)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "run_smoke.cmake: -D${variable}=... is required")
  endif()
endforeach()

set(dict_option)
if(DICT)
  set(dict_option -dict=${DICT})
endif()

file(REMOVE_RECURSE "${SCRATCH}")
file(MAKE_DIRECTORY "${SCRATCH}/corpus" "${SCRATCH}/artifacts")
execute_process(
  COMMAND "${FUZZER}" -runs=${RUNS} -seed=1 -max_len=4096 -timeout=10
          -artifact_prefix=${SCRATCH}/artifacts/ ${dict_option} "${SCRATCH}/corpus" "${CORPUS}"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${status}); the crashing input is in ${SCRATCH}/artifacts")
endif()
