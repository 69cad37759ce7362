// What the launcher's shared code (Sources/GuardedLaunch) needs from the C library, for the Embedded
// Swift launcher, which has no Glibc/Darwin overlay: the headers, and plain functions for what the
// overlay otherwise provides (errno, the variadic open calls, environ).
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/// errno of the calling thread.
int guarded_errno(void);
/// The process environment (environ).
char **guarded_environ(void);
/// open(path, flags | O_CLOEXEC).
int guarded_open(const char *path, int flags);
/// openat(dir, path, flags | O_CLOEXEC, mode).
int guarded_openat(int dir, const char *path, int flags, unsigned mode);
/// The absolute path of this executable with every symlink resolved (Linux: /proc/self/exe;
/// Darwin: _NSGetExecutablePath, then realpath), NUL-terminated in `buffer`. Its length, or -1.
long guarded_executable_path(char *buffer, unsigned long size);
/// The effective user ID this process was exec'd with: on Linux from the auxiliary vector the kernel
/// passed (no syscall, about 2 µs less per start here), elsewhere geteuid(). Only for code that runs
/// before anything in the process could change its IDs (the launcher's fast path).
unsigned guarded_exec_euid(void);
