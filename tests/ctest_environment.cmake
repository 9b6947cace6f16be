# Included by ctest as it reads the tests (TEST_INCLUDE_FILES in tests/CMakeLists.txt): what
# is set here is ctest's own environment, which every test process inherits.

# OpenMP threads that wait for work sleep rather than spin. ctest -j2 runs two tests of two
# OpenMP threads each on two cores: spinning threads then take the core from the thread
# that the others wait for, and a test takes up to several times as long (measured: two
# concurrent 120-frame runs, 3.5 s each spinning, 2.1 s each sleeping; alone 1.3 s against
# 1.5 s). Results do not depend on it. An OMP_WAIT_POLICY set by the caller is kept.
if(NOT DEFINED ENV{OMP_WAIT_POLICY})
  set(ENV{OMP_WAIT_POLICY} passive)
endif()
