// C calls that glibc only declares under _GNU_SOURCE (which the Swift Glibc module is built
// without), wrapped as plain functions defined in shims.c.
#pragma once
#include <spawn.h>

/// posix_spawn_file_actions_addchdir_np: the child starts in `path`.
int guarded_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path);
/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, no window for a leak.
int guarded_pipe_cloexec(int fds[2]);
