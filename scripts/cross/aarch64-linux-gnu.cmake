# CMake toolchain file: cross-compile for 64-bit Arm Linux (RK3588: Cortex-A76/A55) with Debian's
# cross toolchain (apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross).
# Used by scripts/upstream.sh (ROSENBLATT_ARCH=aarch64 on an x86_64 host) and scripts/build-aarch64.sh.
# The CPU flags (-march=armv8.2-a+dotprod+fp16) are not set here: llama.cpp takes them from
# GGML_CPU_ARM_ARCH (upstream-pin/llama.cpp.json), and scripts/build-aarch64.sh gives backend/ the
# same -march. The cache key of a cross build hashes this file's non-comment lines.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ROSENBLATT_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER   ${ROSENBLATT_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${ROSENBLATT_CROSS_TRIPLE}-g++)

# Debian's cross gcc already knows its target libraries and headers (/usr/aarch64-linux-gnu); no
# --sysroot. Searches for libraries, headers and packages stay inside the target tree, so nothing
# of the x86_64 host is picked up by accident; programs (git, python) come from the host. Extra
# target trees (the pinned llama.cpp build) are added with -DCMAKE_FIND_ROOT_PATH=<dir>.
list(APPEND CMAKE_FIND_ROOT_PATH /usr/${ROSENBLATT_CROSS_TRIPLE})
list(REMOVE_DUPLICATES CMAKE_FIND_ROOT_PATH)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# try_run() and ctest run target binaries through user-mode qemu when it is installed.
find_program(ROSENBLATT_QEMU_AARCH64 qemu-aarch64)
if (ROSENBLATT_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${ROSENBLATT_QEMU_AARCH64} -L /usr/${ROSENBLATT_CROSS_TRIPLE})
endif()
