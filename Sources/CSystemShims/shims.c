#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>
#include "CSystemShims.h"

int guarded_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

int guarded_pipe_cloexec(int fds[2]) {
#ifdef __APPLE__
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#else
    return pipe2(fds, O_CLOEXEC);
#endif
}

static int saved_argc;
static char **saved_argv;

#if defined(__GLIBC__) || defined(__APPLE__)
/* glibc (also in static executables) and Darwin call init_array functions with argc, argv, envp. */
__attribute__((constructor)) static void guarded_capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
#endif

int guarded_saved_argc(void) { return saved_argc; }
char **guarded_saved_argv(void) { return saved_argv; }

static _Alignas(16) unsigned char arena[64 * 1024];
static unsigned long arena_used;

void *guarded_arena_alloc(unsigned long size) {
    unsigned long rounded = (size + 15) & ~15UL;
    if (rounded < size || rounded > sizeof arena - arena_used) return 0;
    void *p = arena + arena_used;
    arena_used += rounded;
    return p;
}

int guarded_arena_owns(const void *pointer) {
    const unsigned char *p = pointer;
    return p >= arena && p < arena + sizeof arena;
}
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>

int guarded_exchange_paths(const char *a, const char *b) {
#ifdef __APPLE__
    return renamex_np(a, b, RENAME_SWAP);
#elif defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int guarded_sync_filesystem(int fd) {
#ifdef __linux__
    return syncfs(fd);
#else
    (void)fd;
    sync();
    return 0;
#endif
}

static volatile sig_atomic_t guarded_stop_received = 0;
static struct sigaction guarded_saved_actions[2];
static const int guarded_stop_signals[2] = {SIGTERM, SIGINT};
static int guarded_stop_installed = 0;

static void guarded_stop_handler(int sig) {
    if (!guarded_stop_received) guarded_stop_received = sig;
}

void guarded_stop_signals_install(void) {
    if (guarded_stop_installed) return;
    struct sigaction action;
    action.sa_handler = guarded_stop_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0; /* no SA_RESTART: a blocking call returns EINTR and the caller looks */
    for (int i = 0; i < 2; i++) sigaction(guarded_stop_signals[i], &action, &guarded_saved_actions[i]);
    guarded_stop_installed = 1;
}

void guarded_stop_signals_restore(void) {
    if (!guarded_stop_installed) return;
    for (int i = 0; i < 2; i++) sigaction(guarded_stop_signals[i], &guarded_saved_actions[i], NULL);
    guarded_stop_installed = 0;
}

int guarded_stop_signal(void) { return guarded_stop_received; }
