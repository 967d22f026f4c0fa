/* pool.h: the library's worker threads, a parallel loop over independent
 * tasks whose waiting threads sleep instead of spinning. Private. */
#ifndef INRF_POOL_H
#define INRF_POOL_H

#include <stddef.h>
#include <stdint.h>

/* One task of a loop: task in [0, n); worker in [0, threads) names the
 * thread that runs it, for per-thread scratch memory. */
typedef void (*inrf_task_fn)(void *ctx, size_t task, int worker);

/* Runs fn(ctx, i, worker) for every i in [0, n) on at most `threads`
 * threads, the caller one of them, and returns when all have run. Tasks are
 * claimed in order, but which thread runs which task varies from call to
 * call: results must not depend on it. threads <= 0: the default
 * (inrf_pool_default_threads); more threads than tasks are not started.
 * Called from inside a task of a loop that runs on several threads, or
 * while another thread's loop holds the pool, the loop runs on the calling
 * thread alone (worker 0). Safe to call from any thread, and in a child
 * after fork. */
void inrf_parallel_for(size_t n, int threads, inrf_task_fn fn, void *ctx);

/* The default thread count: the CPUs this process may run on. */
int inrf_pool_default_threads(void);

/* Most threads a loop runs on: the caller and the pool's helpers. */
#define INRF_POOL_MAX_THREADS 256

/* The threads a loop is worth: `asked` (<= 0: the default), no more than
 * by_work (the work measured in threads' worth of it, rounded down) or
 * the loop's tasks, at least 1, at most INRF_POOL_MAX_THREADS. */
int inrf_pool_threads(int asked, uint64_t by_work, uint64_t tasks);

#endif /* INRF_POOL_H */
