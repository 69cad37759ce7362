// C calls that glibc only declares under _GNU_SOURCE (which the Swift Glibc module is built
// without), wrapped as plain functions defined in shims.c.
#pragma once
#include <spawn.h>

/// posix_spawn_file_actions_addchdir_np: the child starts in `path`.
int guarded_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path);
/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, no window for a leak.
int guarded_pipe_cloexec(int fds[2]);

/// argc and argv as the C library passed them to constructors, captured before main (glibc and
/// Darwin pass them to init functions; elsewhere these return 0 / NULL and Swift's CommandLine is used).
/// The launcher's fast path reads them to avoid initializing CommandLine's lazy globals.
int guarded_saved_argc(void);
char **guarded_saved_argv(void);

/// A bump allocator over a static 64 KiB buffer: the fast path's few small buffers land in one or two
/// pages instead of being scattered over the heap. 16-byte aligned; NULL when the arena is full.
/// Memory from it is never freed (the process execs or exits shortly after).
void *guarded_arena_alloc(unsigned long size);
/// True when `pointer` came from guarded_arena_alloc.
int guarded_arena_owns(const void *pointer);
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
/// Opens `relative` (a path of plain components: no leading '/', no "." or "..") below the open
/// directory `root` without following a symlink at any component, the last included: Linux
/// openat2(RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS), macOS openat(O_NOFOLLOW_ANY),
/// else (or when openat2 is refused: ENOSYS on old kernels, EPERM under a seccomp filter) a walk of
/// openat(O_NOFOLLOW|O_DIRECTORY) per component. O_CLOEXEC is always added. -1 with errno
/// (ELOOP for a symlink met on the way, ENOTDIR for a non-directory in the middle).
int guarded_open_beneath(int root, const char *relative, int flags, unsigned mode);
/// Tests: 1 forces the openat/O_NOFOLLOW walk, 0 restores the default. Returns the previous value.
int guarded_open_beneath_force_walk(int on);
/// Which way the last guarded_open_beneath resolved: 2 openat2, 1 O_NOFOLLOW_ANY, 0 the walk.
int guarded_open_beneath_last_method(void);
/// Starts `path` as another user (posix_spawn cannot change credentials): fork, then in the child
/// only async-signal-safe calls: its own process group, an empty signal mask and default handlers,
/// stdin from `in_fd` (or /dev/null when it is -1), stdout/stderr onto `out_fd`/`err_fd`, `cwd`, supplementary groups dropped,
/// gid then uid set (real, effective and saved), execve. 0 and *pid on success, else an errno
/// (the child's exec failure is reported through a close-on-exec pipe).
int guarded_spawn_as_user(int *pid, const char *path, char *const argv[], char *const envp[],
                          const char *cwd, int in_fd, int out_fd, int err_fd, unsigned int uid, unsigned int gid);
#include "launch.h"
