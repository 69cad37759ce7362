/* spawnbench N CMD... : runs each command line (split on spaces) N times, interleaved round-robin so
 * every command sees the same machine conditions, timing posix_spawn + waitpid on CLOCK_MONOTONIC.
 * Prints one line per command: median, mean, p10, p90 in microseconds. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: spawnbench N CMD...\n"); return 64; }
    int n = atoi(argv[1]), k = argc - 2;
    char ***cmds = calloc(k, sizeof *cmds);
    for (int i = 0; i < k; i++) {
        char *s = strdup(argv[i + 2]);
        char **v = calloc(64, sizeof *v);
        int j = 0;
        for (char *t = strtok(s, " "); t && j < 63; t = strtok(NULL, " ")) v[j++] = t;
        cmds[i] = v;
    }
    double *t = calloc((size_t)n * k, sizeof *t);
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < k; i++) {
            struct timespec a, b;
            pid_t pid;
            clock_gettime(CLOCK_MONOTONIC, &a);
            if (posix_spawn(&pid, cmds[i][0], NULL, NULL, cmds[i], environ) != 0) { perror(cmds[i][0]); return 1; }
            int status;
            waitpid(pid, &status, 0);
            clock_gettime(CLOCK_MONOTONIC, &b);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "%s failed\n", argv[i + 2]); return 1; }
            t[i * n + r] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
        }
    }
    for (int i = 0; i < k; i++) {
        double *x = t + i * n, sum = 0;
        qsort(x, n, sizeof *x, cmp);
        for (int r = 0; r < n; r++) sum += x[r];
        printf("cmd%d median_us=%.1f mean_us=%.1f p10_us=%.1f p90_us=%.1f :: %s\n",
               i, x[n / 2], sum / n, x[n / 10], x[n * 9 / 10], argv[i + 2]);
    }
    return 0;
}
