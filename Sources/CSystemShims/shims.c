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

#include <grp.h>
#include <sys/types.h>
#include <sys/wait.h>

int guarded_spawn_as_user(int *pid, const char *path, char *const argv[], char *const envp[],
                          const char *cwd, int in_fd, int out_fd, int err_fd, unsigned int uid, unsigned int gid) {
    int report[2];
    if (guarded_pipe_cloexec(report) != 0) return errno;
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(report[0]);
        close(report[1]);
        return e;
    }
    if (child == 0) {
        int e = 0;
        sigset_t empty;
        struct sigaction dfl;
        dfl.sa_handler = SIG_DFL;
        dfl.sa_flags = 0;
        sigemptyset(&dfl.sa_mask);
        for (int s = 1; s < 65; s++) {
            if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
        }
        sigemptyset(&empty);
        sigprocmask(SIG_SETMASK, &empty, NULL);
        if (setpgid(0, 0) != 0) e = errno;
        int stdin_fd = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
        if (!e && (stdin_fd < 0 || dup2(stdin_fd, 0) < 0)) e = errno;
        if (!e && (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)) e = errno;
        if (!e && cwd && chdir(cwd) != 0) e = errno;
        gid_t g = (gid_t)gid;
        if (!e && setgroups(1, &g) != 0) e = errno;
#ifdef __APPLE__
        if (!e && setgid(g) != 0) e = errno;
        if (!e && setuid((uid_t)uid) != 0) e = errno;
#else
        if (!e && setresgid(g, g, g) != 0) e = errno;
        if (!e && setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) e = errno;
#endif
        if (!e) {
            execve(path, argv, envp);
            e = errno;
        }
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
    }
    close(report[1]);
    int child_error = 0;
    ssize_t got;
    do { got = read(report[0], &child_error, sizeof child_error); } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof child_error) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return child_error ? child_error : EINVAL;
    }
    *pid = child;
    return 0;
}
