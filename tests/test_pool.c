/* test_pool.c: inrf_parallel_for (libinrf/pool.c, built into this test: the
 * library hides it): every task once, worker ids, nesting, concurrent
 * callers, fork, and helpers that sleep rather than spin when idle. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../libinrf/pool.h"

enum { MAX_WORKERS = 64 };

/* What a loop's tasks record. */
typedef struct counts {
    unsigned *runs;            /* [n]: times task i ran */
    int busy[MAX_WORKERS];     /* worker w is inside a task */
    int overlap;               /* a worker ran two tasks at once */
    int bad_worker;            /* a worker id outside [0, threads) */
    int threads;
    int seen[MAX_WORKERS];     /* worker w ran a task */
    unsigned spin;             /* work per task, to let the threads meet */
} counts;

static void count_task(void *ctx, size_t task, int worker)
{
    counts *c = ctx;
    if (worker < 0 || worker >= c->threads || worker >= MAX_WORKERS) {
        __atomic_store_n(&c->bad_worker, 1, __ATOMIC_RELAXED);
        return;
    }
    if (__atomic_exchange_n(&c->busy[worker], 1, __ATOMIC_ACQ_REL))
        __atomic_store_n(&c->overlap, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&c->seen[worker], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&c->runs[task], 1, __ATOMIC_RELAXED);
    for (volatile unsigned k = 0; k < c->spin; k++)
        ;
    if (c->spin && task % 64 == 0)
        sched_yield(); /* a thread descheduled inside a task */
    __atomic_store_n(&c->busy[worker], 0, __ATOMIC_RELEASE);
}

/* Runs a loop of n tasks on `threads` and checks each ran once, on a
 * worker in range that ran one task at a time. */
static void check_loop(size_t n, int threads, unsigned spin)
{
    counts c;
    memset(&c, 0, sizeof c);
    c.runs = calloc(n ? n : 1, sizeof *c.runs);
    assert_non_null(c.runs);
    c.threads = threads > 0 ? threads : inrf_pool_default_threads();
    c.spin = spin;
    inrf_parallel_for(n, threads, count_task, &c);
    for (size_t i = 0; i < n; i++)
        if (c.runs[i] != 1)
            fail_msg("n %zu, threads %d: task %zu ran %u times", n, threads, i, c.runs[i]);
    assert_false(c.bad_worker);
    assert_false(c.overlap);
    for (int w = 0; w < MAX_WORKERS; w++)
        assert_int_equal(c.busy[w], 0);
    free(c.runs);
}

static void test_every_task_once(void **state)
{
    (void)state;
    const int threads[] = {0, 1, 2, 3, 4, 8};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        int nt = threads[t] > 0 ? threads[t] : inrf_pool_default_threads();
        const size_t sizes[] = {0, 1, (size_t)nt - 1, (size_t)nt, (size_t)nt + 1, 1000, 100000};
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            check_loop(sizes[s], threads[t], 0);
        check_loop(5000, threads[t], 2000); /* tasks long enough to overlap */
    }
}

static void test_more_threads_than_tasks(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 5; n++)
        check_loop(n, 16, 20000);
    check_loop(3, 1000, 0); /* beyond the pool's helpers: still in range */
}

/* Worker 0 is the caller: a loop on one thread runs there. */
typedef struct on_caller {
    pthread_t caller;
    int elsewhere;
} on_caller;

static void note_thread(void *ctx, size_t task, int worker)
{
    on_caller *o = ctx;
    (void)task;
    if (!pthread_equal(pthread_self(), o->caller) || worker != 0)
        __atomic_store_n(&o->elsewhere, 1, __ATOMIC_RELAXED);
}

static void test_one_thread_runs_on_caller(void **state)
{
    (void)state;
    on_caller o = {pthread_self(), 0};
    inrf_parallel_for(100, 1, note_thread, &o);
    assert_false(o.elsewhere);
}

/* An inner loop inside every outer task. */
typedef struct nested {
    unsigned runs[64][32];     /* [outer][inner] */
    int inner_elsewhere;
} nested;

typedef struct inner_ctx {
    nested *nest;
    size_t outer;
    pthread_t thread;
} inner_ctx;

static void inner_task(void *ctx, size_t task, int worker)
{
    inner_ctx *ic = ctx;
    if (!pthread_equal(pthread_self(), ic->thread) || worker != 0)
        __atomic_store_n(&ic->nest->inner_elsewhere, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ic->nest->runs[ic->outer][task], 1, __ATOMIC_RELAXED);
}

static void outer_task(void *ctx, size_t task, int worker)
{
    (void)worker;
    inner_ctx ic = {ctx, task, pthread_self()};
    inrf_parallel_for(32, 4, inner_task, &ic);
}

static void test_nested(void **state)
{
    (void)state;
    nested *nest = calloc(1, sizeof *nest);
    assert_non_null(nest);
    inrf_parallel_for(64, 4, outer_task, nest);
    for (int o = 0; o < 64; o++)
        for (int i = 0; i < 32; i++)
            assert_int_equal(nest->runs[o][i], 1);
    assert_false(nest->inner_elsewhere); /* the inner loops stayed on their thread */
    free(nest);
}

/* Several application threads, each running loops at once. */
static void *user_thread(void *arg)
{
    int *failed = arg;
    for (int rep = 0; rep < 200; rep++) {
        counts c;
        memset(&c, 0, sizeof c);
        size_t n = 200 + (size_t)rep;
        c.runs = calloc(n, sizeof *c.runs);
        if (!c.runs) {
            *failed = 1;
            return NULL;
        }
        c.threads = 4;
        c.spin = rep % 3 ? 0 : 500;
        inrf_parallel_for(n, 4, count_task, &c);
        for (size_t i = 0; i < n; i++)
            *failed |= c.runs[i] != 1;
        *failed |= c.bad_worker | c.overlap;
        free(c.runs);
    }
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    enum { USERS = 4 };
    pthread_t t[USERS];
    int failed[USERS] = {0};
    for (int u = 0; u < USERS; u++)
        assert_int_equal(pthread_create(&t[u], NULL, user_thread, &failed[u]), 0);
    for (int u = 0; u < USERS; u++) {
        assert_int_equal(pthread_join(t[u], NULL), 0);
        assert_int_equal(failed[u], 0);
    }
}

static void add_one(void *ctx, size_t task, int worker)
{
    (void)worker;
    __atomic_fetch_add((unsigned *)ctx + task, 1, __ATOMIC_RELAXED);
}

/* Thousands of loops of tiny tasks: a lost wake-up or a helper left
 * behind would hang or miscount here. */
static void test_many_tiny_loops(void **state)
{
    (void)state;
    unsigned runs[8];
    for (int rep = 0; rep < 20000; rep++) {
        size_t n = 1 + (size_t)rep % 8;
        memset(runs, 0, sizeof runs);
        inrf_parallel_for(n, 4, add_one, runs);
        for (size_t i = 0; i < n; i++)
            if (runs[i] != 1)
                fail_msg("loop %d: task %zu ran %u times", rep, i, runs[i]);
    }
}

/* A child forked after the helpers started runs loops of its own. */
static void test_fork(void **state)
{
    (void)state;
    check_loop(1000, 4, 100); /* the parent's helpers exist */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(60); /* a hang becomes a failure */
        unsigned runs[100] = {0};
        inrf_parallel_for(100, 4, add_one, runs);
        for (int i = 0; i < 100; i++)
            if (runs[i] != 1)
                _exit(1);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    check_loop(1000, 4, 100); /* and the parent's still work */
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Between loops the helpers sleep: while the caller sleeps 20 x 10 ms,
 * the process uses far less CPU than helpers spinning would (an OpenMP
 * team spins for milliseconds after each region). A bound on CPU time
 * used, not on elapsed time. */
static void test_idle_helpers_sleep(void **state)
{
    (void)state;
    unsigned runs[64];
    inrf_parallel_for(64, 4, add_one, runs); /* helpers started */
    double used = 0.0;
    for (int rep = 0; rep < 20; rep++) {
        memset(runs, 0, sizeof runs);
        inrf_parallel_for(64, 4, add_one, runs);
        double t0 = cpu_seconds();
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL);
        used += cpu_seconds() - t0;
    }
    /* spinning through the naps: 3 helpers x 200 ms; sleeping: ~0 */
    if (used > 0.05)
        fail_msg("the idle helpers used %.3f s of CPU in 200 ms", used);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_task_once),
        cmocka_unit_test(test_more_threads_than_tasks),
        cmocka_unit_test(test_one_thread_runs_on_caller),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_many_tiny_loops),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_idle_helpers_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
