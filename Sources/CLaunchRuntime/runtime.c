// The Embedded launcher's C runtime on Linux: its entry point and the few C library functions it
// calls, as raw system calls, so `guarded-run` links no C library.
//
// Why: a static glibc program runs glibc's start-up before main (CPU feature detection with CPUID,
// which traps to the hypervisor on a virtual machine, cache-size probing, TLS and malloc set-up,
// IRELATIVE relocations). Measured on the project machine (docs/performance.md): a static C loader
// that only calls execv costs about 650 µs per start, one without a C library about 110 µs. The
// launcher runs before every agent start, so it skips all of that: nothing below runs unless called.
//
// Scope: Linux on x86_64 and aarch64 (the aarch64 branch is compiled, not run, here). Elsewhere
// (Darwin, which has no static executables) this file is empty and the launcher links the system's C
// library as before. Only one thread ever runs here, so errno is a plain global.
// Built freestanding (Package.swift): no builtins, so the compiler never turns the loops below back
// into calls to themselves.
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

// MARK: system calls

static long raw_syscall(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
#endif
}

static int guarded_runtime_errno;
int *__errno_location(void) { return &guarded_runtime_errno; }

/// The kernel's -errno convention turned into the C library's: -1 and errno.
static long result(long r) {
    if (r < 0 && r > -4096) { guarded_runtime_errno = (int)-r; return -1; }
    return r;
}

#define SC(n, a, b, c, d, e, f) result(raw_syscall((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

long syscall(long n, ...) {
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    return SC(n, a, b, c, d, e, f);
}

// The mode is read only when the flags say one was passed, as the C library does.
int openat(int dir, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    unsigned mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, unsigned) : 0;
    va_end(ap);
    return (int)SC(SYS_openat, dir, path, flags, mode, 0, 0);
}

int open(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    unsigned mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, unsigned) : 0;
    va_end(ap);
    return openat(AT_FDCWD, path, flags, mode);
}

int close(int fd) { return (int)SC(SYS_close, fd, 0, 0, 0, 0, 0); }
ssize_t read(int fd, void *buffer, size_t count) { return SC(SYS_read, fd, buffer, count, 0, 0, 0); }
ssize_t write(int fd, const void *buffer, size_t count) { return SC(SYS_write, fd, buffer, count, 0, 0, 0); }
ssize_t pread(int fd, void *buffer, size_t count, off_t offset) { return SC(SYS_pread64, fd, buffer, count, offset, 0, 0); }

// The C library's struct stat is the kernel's on both architectures (x86_64's own layout, aarch64's
// asm-generic one), so the kernel fills it directly.
int fstatat(int dir, const char *path, struct stat *st, int flags) { return (int)SC(SYS_newfstatat, dir, path, st, flags, 0, 0); }
int fstat(int fd, struct stat *st) { return fstatat(fd, "", st, AT_EMPTY_PATH); }
int lstat(const char *path, struct stat *st) { return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW); }

int access(const char *path, int mode) { return (int)SC(SYS_faccessat, AT_FDCWD, path, mode, 0, 0, 0); }
int unlinkat(int dir, const char *path, int flags) { return (int)SC(SYS_unlinkat, dir, path, flags, 0, 0, 0); }
ssize_t readlink(const char *path, char *buffer, size_t size) { return SC(SYS_readlinkat, AT_FDCWD, path, buffer, size, 0, 0); }
int execve(const char *path, char *const argv[], char *const envp[]) { return (int)SC(SYS_execve, path, argv, envp, 0, 0, 0); }
pid_t getpid(void) { return (pid_t)raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0); }
uid_t geteuid(void) { return (uid_t)raw_syscall(SYS_geteuid, 0, 0, 0, 0, 0, 0); }
int clock_gettime(clockid_t clock, struct timespec *ts) { return (int)SC(SYS_clock_gettime, clock, ts, 0, 0, 0, 0); }

char *getcwd(char *buffer, size_t size) {
    // The kernel returns the length with the NUL; the C library returns the buffer.
    return SC(SYS_getcwd, buffer, size, 0, 0, 0, 0) < 0 ? NULL : buffer;
}

_Noreturn void _exit(int status) {
    for (;;) raw_syscall(SYS_exit_group, status, 0, 0, 0, 0, 0);
}
// Nothing is buffered and no atexit handler exists, so exit is _exit.
_Noreturn void exit(int status) { _exit(status); }

// MARK: memory and strings
// memcpy, memmove, memset and memcmp are also what the compiler may call on its own.

void *memset(void *dest, int c, size_t n) {
    unsigned char *d = dest;
    while (n--) *d++ = (unsigned char)c;
    return dest;
}

void *memcpy(void *restrict dest, const void *restrict src, size_t n) {
    unsigned char *d = dest;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dest;
}

void *memmove(void *dest, const void *src, size_t n) {
    unsigned char *d = dest;
    const unsigned char *s = src;
    if (d < s) {
        while (n--) *d++ = *s++;
    } else {
        while (n--) d[n] = s[n];
    }
    return dest;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

int bcmp(const void *a, const void *b, size_t n) { return memcmp(a, b, n); }

void *memchr(const void *s, int c, size_t n) {
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == (unsigned char)c) return (void *)(p + i);
    }
    return NULL;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

char *strchr(const char *s, int c) {
    for (;; s++) {
        if (*s == (char)c) return (char *)s;
        if (!*s) return NULL;
    }
}

// Only what a failed exec of the full binary can report (Launcher.swift), in glibc's words, so the
// line reads the same as the full binary's.
static const char *strerror_text(int error) {
    switch (error) {
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case EIO: return "Input/output error";
    case E2BIG: return "Argument list too long";
    case ENOEXEC: return "Exec format error";
    case ENOMEM: return "Cannot allocate memory";
    case EACCES: return "Permission denied";
    case EFAULT: return "Bad address";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case EINVAL: return "Invalid argument";
    case ENFILE: return "Too many open files in system";
    case EMFILE: return "Too many open files";
    case ETXTBSY: return "Text file busy";
    case ENAMETOOLONG: return "File name too long";
    case ELOOP: return "Too many levels of symbolic links";
    case ELIBBAD: return "Accessing a corrupted shared library";
    default: return "Unknown error";
    }
}
char *strerror(int error) { return (char *)strerror_text(error); }

// MARK: environment and auxiliary vector

char **environ;
static unsigned long *auxiliary_vector;

char *getenv(const char *name) {
    size_t length = strlen(name);
    if (!environ) return NULL;
    for (char **e = environ; *e; e++) {
        if (memcmp(*e, name, length) == 0 && (*e)[length] == '=') return *e + length + 1;
    }
    return NULL;
}

unsigned long getauxval(unsigned long type) {
    for (unsigned long *a = auxiliary_vector; a && a[0] != 0; a += 2) {
        if (a[0] == type) return a[1];
    }
    guarded_runtime_errno = ENOENT;
    return 0;
}

// MARK: allocation
// The fast path's buffers come from CSystemShims' static arena; this is only the overflow for very
// long command lines or caches. Memory is never given back: the process execs or exits right after.

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    long r = raw_syscall(SYS_mmap, (long)address, (long)length, protection, flags, fd, offset);
    if (r < 0 && r > -4096) { guarded_runtime_errno = (int)-r; return (void *)-1; }
    return (void *)r;
}

static void *allocate(size_t size, size_t alignment) {
    if (alignment < 16) alignment = 16;
    if (size > ((size_t)1 << 40) || alignment > 4096) return NULL;
    void *p = mmap(NULL, size ? size : 1, 0x1 | 0x2 /* PROT_READ|PROT_WRITE */, 0x02 | 0x20 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
    return p == (void *)-1 ? NULL : p; // page-aligned
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    void *p = allocate(size, alignment);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void free(void *pointer) { (void)pointer; }
void *swift_slowAlloc(size_t size, size_t alignMask) {
    void *p = allocate(size, alignMask + 1);
    if (!p) __builtin_trap();
    return p;
}
void swift_slowDealloc(void *pointer, size_t size, size_t alignMask) { (void)pointer; (void)size; (void)alignMask; }

// MARK: entry

// The stack-protector canary: x86_64 reads it at %fs:0x28, so the thread pointer needs a block to
// point at; aarch64 reads the global below. Filled from the 16 random bytes the kernel passes (AT_RANDOM).
#if defined(__x86_64__)
static struct { void *self; unsigned long unused[4]; unsigned long canary; unsigned long rest[2]; } thread_block;
#else
uintptr_t __stack_chk_guard;
#endif
_Noreturn void __stack_chk_fail(void) { __builtin_trap(); }

extern int main(int argc, char **argv, char **envp);
extern void (*__init_array_start[])(int, char **, char **) __attribute__((weak));
extern void (*__init_array_end[])(int, char **, char **) __attribute__((weak));

__attribute__((used, noreturn)) void guarded_launch_start(long *stack) {
    int argc = (int)stack[0];
    char **argv = (char **)(stack + 1);
    char **envp = argv + argc + 1;
    environ = envp;
    char **e = envp;
    while (*e) e++;
    auxiliary_vector = (unsigned long *)(e + 1);
    unsigned long canary = 0;
    const unsigned char *random = (const unsigned char *)getauxval(25 /* AT_RANDOM */);
    if (random) memcpy(&canary, random, sizeof canary);
    canary &= ~0xffUL; // a zero first byte stops string over-reads, as the C library does
#if defined(__x86_64__)
    thread_block.self = &thread_block;
    thread_block.canary = canary;
    raw_syscall(SYS_arch_prctl, 0x1002 /* ARCH_SET_FS */, (long)&thread_block, 0, 0, 0, 0);
#else
    __stack_chk_guard = canary;
#endif
    // CSystemShims captures argv in a constructor, called as the C library would call it.
    for (void (**f)(int, char **, char **) = __init_array_start; f && f < __init_array_end; f++) (*f)(argc, argv, envp);
    exit(main(argc, argv, envp));
}

#if defined(__x86_64__)
__asm__(".text\n.global _start\n.type _start,@function\n_start:\n"
        "  xor %ebp, %ebp\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call guarded_launch_start\n  hlt\n");
#else
__asm__(".text\n.global _start\n.type _start,%function\n_start:\n"
        "  mov x29, #0\n  mov x30, #0\n  mov x0, sp\n  bl guarded_launch_start\n  brk #0\n");
#endif

#endif
