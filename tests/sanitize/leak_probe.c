/* A program that leaks eight 77-byte blocks on purpose: the sanitizer suite runs it, not
 * instrumented, through asan-run.sh to prove LeakSanitizer reports leaks through the preload. */
#include <stdlib.h>
#include <string.h>

/* volatile and noinline: no copy of the pointer survives for LSan's conservative scan. */
__attribute__((noinline)) static void leak(void)
{
    char *volatile p = malloc(77);
    if (p)
        memset(p, 1, 77);
    p = NULL;
}

__attribute__((noinline)) static void clobber_stack(void)
{
    volatile char buf[4096];
    memset((char *)buf, 0, sizeof(buf));
}

int main(void)
{
    for (int i = 0; i < 8; i++)
        leak();
    clobber_stack();
    return 0;
}
