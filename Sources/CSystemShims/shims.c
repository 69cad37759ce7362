#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>
#include "CSystemShims.h"
#ifdef __linux__
#include <sys/auxv.h>
#endif

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

#include <string.h>
#include <stdint.h>

/* Written in C so the fast path pays no Swift stdlib code (no String, no Array) for it. */
static int beneath_force_walk = 0;
static int beneath_last_method = 0;
#ifdef __linux__
/* openat2 is refused for good (old kernel, seccomp): do not ask again in this process. */
static int openat2_unusable = 0;
struct guarded_open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };
#ifndef SYS_openat2
#define SYS_openat2 437 /* the same number on every Linux architecture (asm-generic) */
#endif
#endif

int guarded_open_beneath_force_walk(int on) { int old = beneath_force_walk; beneath_force_walk = on; return old; }
int guarded_open_beneath_last_method(void) { return beneath_last_method; }

/* "." and ".." are refused outright: the walk has no RESOLVE_BENEATH to keep ".." inside. */
static int is_dot_component(const char *p, size_t len) {
    return (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.');
}

static int beneath_walk(int root, const char *relative, int flags, unsigned mode) {
    char component[256];
    int dir = root;
    const char *p = relative;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) break;
        size_t len = (size_t)(slash - p);
        if (len == 0 || len >= sizeof component || is_dot_component(p, len)) { if (dir != root) close(dir); errno = EINVAL; return -1; }
        memcpy(component, p, len);
        component[len] = 0;
        int next;
        do { next = openat(dir, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); } while (next < 0 && errno == EINTR);
        int saved = errno;
        if (dir != root) close(dir);
        if (next < 0) { errno = saved; return -1; }
        dir = next;
        p = slash + 1;
    }
    if (p[0] == 0 || is_dot_component(p, strlen(p))) { if (dir != root) close(dir); errno = EINVAL; return -1; }
    int fd;
    do { fd = openat(dir, p, flags | O_NOFOLLOW | O_CLOEXEC, mode); } while (fd < 0 && errno == EINTR);
    int saved = errno;
    if (dir != root) close(dir);
    errno = saved;
    return fd;
}

int guarded_open_beneath(int root, const char *relative, int flags, unsigned mode) {
    if (relative[0] == '/' || relative[0] == 0) { errno = EINVAL; return -1; }
#ifdef __linux__
    if (!beneath_force_walk && !openat2_unusable) {
        struct guarded_open_how how;
        how.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC | O_NOFOLLOW);
        how.mode = (flags & O_CREAT) ? mode : 0;
        how.resolve = 0x02 /* NO_MAGICLINKS */ | 0x04 /* NO_SYMLINKS */ | 0x08 /* BENEATH */;
        long fd;
        do { fd = syscall(SYS_openat2, root, relative, &how, sizeof how); } while (fd < 0 && errno == EINTR);
        if (fd >= 0) { beneath_last_method = 2; return (int)fd; }
        /* ENOSYS: before Linux 5.6; EPERM: a seccomp filter that does not know it; E2BIG/EINVAL:
           a kernel that does not know a flag. Anything else (ELOOP, EXDEV, ENOENT...) is the answer. */
        if (errno != ENOSYS && errno != EPERM && errno != E2BIG && errno != EINVAL) { beneath_last_method = 2; return -1; }
        openat2_unusable = 1;
    }
#elif defined(__APPLE__) && defined(O_NOFOLLOW_ANY)
    if (!beneath_force_walk) {
        int fd;
        do { fd = openat(root, relative, flags | O_NOFOLLOW_ANY | O_CLOEXEC, mode); } while (fd < 0 && errno == EINTR);
        beneath_last_method = 1;
        return fd;
    }
#endif
    beneath_last_method = 0;
    return beneath_walk(root, relative, flags, mode);
}

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

#include "launch.h"
#ifdef __APPLE__
#include <mach-o/dyld.h>
#include <limits.h>
#endif
extern char **environ;

int guarded_errno(void) { return errno; }
char **guarded_environ(void) { return environ; }
int guarded_open(const char *path, int flags) { return open(path, flags | O_CLOEXEC); }
int guarded_openat(int dir, const char *path, int flags, unsigned mode) {
    return openat(dir, path, flags | O_CLOEXEC, (mode_t)mode);
}

long guarded_executable_path(char *buffer, unsigned long size) {
    if (size < 2) return -1;
#ifdef __APPLE__
    char raw[PATH_MAX];
    uint32_t rawSize = sizeof raw;
    char resolved[PATH_MAX];
    if (_NSGetExecutablePath(raw, &rawSize) != 0 || realpath(raw, resolved) == NULL) return -1;
    size_t n = strlen(resolved);
    if (n + 1 > size) return -1;
    memcpy(buffer, resolved, n + 1);
    return (long)n;
#else
    ssize_t n = readlink("/proc/self/exe", buffer, size - 1);
    if (n <= 0 || (unsigned long)n >= size - 1) return -1;
    buffer[n] = 0;
    return (long)n;
#endif
}

unsigned guarded_exec_euid(void) {
#ifdef __linux__
    errno = 0;
    unsigned long euid = getauxval(AT_EUID);
    if (euid != 0 || errno == 0) return (unsigned)euid;
#endif
    return (unsigned)geteuid();
}
