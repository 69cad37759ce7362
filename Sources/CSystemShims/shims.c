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
