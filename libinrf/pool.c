/* pool.c: inrf_parallel_for (pool.h), tasks claimed from a shared counter
 * by the threads of one OpenMP region. */
#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "pool.h"

int inrf_pool_default_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void inrf_parallel_for(size_t n, int threads, inrf_task_fn fn, void *ctx)
{
    if (threads <= 0)
        threads = inrf_pool_default_threads();
    if ((size_t)threads > n)
        threads = (int)n;
#ifdef _OPENMP
    if (threads > 1 && !omp_in_parallel()) {
        size_t next = 0;
#pragma omp parallel num_threads(threads)
        {
            int w = omp_get_thread_num();
            for (;;) {
                size_t i = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
                if (i >= n)
                    break;
                fn(ctx, i, w);
            }
        }
        return;
    }
#endif
    for (size_t i = 0; i < n; i++)
        fn(ctx, i, 0);
}
