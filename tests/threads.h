/* threads.h: what the tests of "threads follow the work" share: the count
 * of this process's threads. */
#ifndef INRF_TESTS_THREADS_H
#define INRF_TESTS_THREADS_H

#include <stdio.h>

/* This process's threads (Linux: /proc/self/status); 0 if unknown. */
static inline int count_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

#endif /* INRF_TESTS_THREADS_H */
