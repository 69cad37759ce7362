/* The floor under the C loader: a static program with no C library at all (its own _start and one
   raw execve), as guarded-run's launcher is built (Sources/CLaunchRuntime). What it saves against
   execv-loader.c is the C library's start-up. x86_64 and aarch64 Linux. */
static long sys3(long n, long a, long b, long c) {
#if defined(__x86_64__)
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
#else
    register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
#endif
}
#if defined(__x86_64__)
enum { SYS_execve = 59, SYS_exit_group = 231 };
#else
enum { SYS_execve = 221, SYS_exit_group = 94 };
#endif
__attribute__((used, noreturn)) void loader_start(long *stack) {
    long argc = stack[0];
    char **argv = (char **)(stack + 1);
    if (argc < 2) sys3(SYS_exit_group, 64, 0, 0);
    sys3(SYS_execve, (long)argv[1], (long)(argv + 1), (long)(argv + argc + 1));
    for (;;) sys3(SYS_exit_group, 127, 0, 0);
}
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n xor %ebp, %ebp\n mov %rsp, %rdi\n and $-16, %rsp\n call loader_start\n hlt\n");
#else
__asm__(".text\n.global _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n bl loader_start\n brk #0\n");
#endif
