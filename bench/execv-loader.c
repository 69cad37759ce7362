/* The physical floor of one extra exec: a static program that does nothing but execv(argv[1], argv+1). */
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) return 64;
    execv(argv[1], argv + 1);
    return 127;
}
