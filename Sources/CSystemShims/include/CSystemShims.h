// C calls that glibc only declares under _GNU_SOURCE (which the Swift Glibc module is built
// without), wrapped as plain functions defined in shims.c.
#pragma once
#include <spawn.h>

/// posix_spawn_file_actions_addchdir_np: the child starts in `path`.
int guarded_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path);
/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, no window for a leak.
int guarded_pipe_cloexec(int fds[2]);

/// Atomically exchanges two paths on one filesystem (Linux renameat2 RENAME_EXCHANGE, macOS
/// renamex_np RENAME_SWAP). -1 with errno (EINVAL/ENOSYS/ENOTSUP where unsupported).
int guarded_exchange_paths(const char *a, const char *b);
/// syncfs(2) on the filesystem holding `fd` (Linux); sync(2) elsewhere. 0 or -1 with errno.
int guarded_sync_filesystem(int fd);
/// Installs a handler for SIGTERM and SIGINT that records the signal, saving the previous
/// dispositions; `restore` puts them back exactly (an ignored signal stays ignored).
void guarded_stop_signals_install(void);
void guarded_stop_signals_restore(void);
/// The first stop signal received since install, or 0.
int guarded_stop_signal(void);
