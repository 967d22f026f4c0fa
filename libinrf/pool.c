/* pool.c: inrf_parallel_for (pool.h) on a persistent pool of helper threads
 * that sleep on a condition variable between loops (after a short spin). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "pool.h"

/* Helpers beyond the caller; a request for more threads gets these. */
enum { POOL_MAX_HELPERS = INRF_POOL_MAX_THREADS - 1 };

/* Pause instructions a waiting thread spins before it sleeps: tens of
 * microseconds, enough to catch the next of a series of short loops
 * without a wake-up, too short to matter on a busy machine (libgomp spins
 * about a thousand times longer, stealing the core from the thread that
 * would end the wait). */
enum { SPIN_HELPER = 4000, SPIN_CALLER = 1000 };

/* One loop at a time runs on the helpers; `busy` says a caller owns it (a
 * second caller meanwhile runs its loop alone). A helper joins an open
 * loop by claiming its first task under the lock, so the caller waits only
 * for helpers that hold a task: a helper that is descheduled while it
 * sleeps or before it joins delays nothing, one descheduled inside a task
 * delays the end of the loop by that task only. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t work;       /* a loop opened */
    pthread_cond_t idle;       /* the last helper left the loop */
    int helpers;               /* threads started */
    int sleeping;              /* helpers waiting on `work` */
    int busy;                  /* a caller owns the loop below */
    int waiting;               /* that caller waits on `idle` */
    /* the loop: set under the lock while busy */
    inrf_task_fn fn;
    void *ctx;
    size_t n;
    size_t next;               /* the next task to claim (atomic) */
    int ids;                   /* worker ids handed out, the caller's 0 included */
    int threads;               /* ids stay below this */
    int inside;                /* helpers holding ids (atomic reads) */
    unsigned gen;              /* loops opened (atomic reads: for spinners) */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
           .work = PTHREAD_COND_INITIALIZER,
           .idle = PTHREAD_COND_INITIALIZER};

/* Set while this thread runs a task of a loop that has helpers. */
static _Thread_local int in_task;

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

int inrf_pool_default_threads(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int inrf_pool_threads(int asked, uint64_t by_work, uint64_t tasks)
{
    uint64_t nt = asked > 0 ? (uint64_t)asked : (uint64_t)inrf_pool_default_threads();
    if (nt > by_work)
        nt = by_work;
    if (nt > tasks)
        nt = tasks;
    if (nt > INRF_POOL_MAX_THREADS)
        nt = INRF_POOL_MAX_THREADS;
    return nt > 0 ? (int)nt : 1;
}

/* Claims and runs tasks as worker `id` until none are left; `first` is
 * already claimed. */
static void run_tasks(inrf_task_fn fn, void *ctx, size_t n, size_t first, int id)
{
    in_task = 1;
    for (size_t i = first; i < n; i = __atomic_fetch_add(&pool.next, 1, __ATOMIC_RELAXED))
        fn(ctx, i, id);
    in_task = 0;
}

/* With the lock held: joins the open loop if it wants another thread and
 * has a task left (claimed into *first). */
static int join_loop(size_t *first, int *id)
{
    if (!pool.busy || pool.ids >= pool.threads)
        return 0;
    size_t i = __atomic_fetch_add(&pool.next, 1, __ATOMIC_RELAXED);
    if (i >= pool.n)
        return 0;
    *first = i;
    *id = pool.ids++;
    __atomic_store_n(&pool.inside, pool.inside + 1, __ATOMIC_RELAXED);
    return 1;
}

static void *helper_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        size_t first;
        int id;
        if (join_loop(&first, &id)) {
            inrf_task_fn fn = pool.fn;
            void *ctx = pool.ctx;
            size_t n = pool.n;
            pthread_mutex_unlock(&pool.lock);
            run_tasks(fn, ctx, n, first, id);
            pthread_mutex_lock(&pool.lock);
            __atomic_store_n(&pool.inside, pool.inside - 1, __ATOMIC_RELEASE);
            if (pool.inside == 0 && pool.waiting)
                pthread_cond_signal(&pool.idle);
            continue;
        }
        /* nothing to join: spin a little for the next loop, then sleep */
        unsigned seen = pool.gen;
        pthread_mutex_unlock(&pool.lock);
        for (int k = 0; k < SPIN_HELPER; k++) {
            if (__atomic_load_n(&pool.gen, __ATOMIC_RELAXED) != seen)
                break;
            cpu_pause();
        }
        pthread_mutex_lock(&pool.lock);
        if (pool.gen == seen) {
            pool.sleeping++;
            pthread_cond_wait(&pool.work, &pool.lock);
            pool.sleeping--;
        }
    }
    return NULL;
}

/* fork: the child has none of the helpers; it starts afresh. The lock is
 * held across fork so that the child's copy is consistent. */
static void fork_prepare(void) { pthread_mutex_lock(&pool.lock); }
static void fork_parent(void) { pthread_mutex_unlock(&pool.lock); }
static void fork_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.work, NULL);
    pthread_cond_init(&pool.idle, NULL);
    pool.helpers = pool.sleeping = pool.busy = pool.waiting = pool.inside = 0;
}

static void register_fork(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }

/* With the lock held: starts helpers up to `want`. They are detached and
 * never end: idle, they sleep; at exit they go with the process. They
 * block the asynchronous signals, which stay the application's. */
static void grow(int want)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_fork);
    sigset_t all, old;
    sigfillset(&all);
    /* faults stay deliverable, to the handler of a sanitizer or debugger */
    sigdelset(&all, SIGSEGV), sigdelset(&all, SIGBUS), sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL), sigdelset(&all, SIGTRAP);
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (pool.helpers < want) {
        pthread_t t;
        if (pthread_create(&t, &attr, helper_main, NULL) != 0)
            break; /* fewer threads: the loop still runs */
        pool.helpers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

static void run_alone(size_t n, inrf_task_fn fn, void *ctx)
{
    for (size_t i = 0; i < n; i++)
        fn(ctx, i, 0);
}

void inrf_parallel_for(size_t n, int threads, inrf_task_fn fn, void *ctx)
{
    if (threads <= 0)
        threads = inrf_pool_default_threads();
    if ((size_t)threads > n)
        threads = (int)n;
    if (threads > POOL_MAX_HELPERS + 1)
        threads = POOL_MAX_HELPERS + 1;
    /* a nested loop, or one whose counter could wrap: the caller alone */
    if (threads <= 1 || in_task || n > SIZE_MAX / 2) {
        run_alone(n, fn, ctx);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    if (pool.busy) { /* another thread's loop has the helpers */
        pthread_mutex_unlock(&pool.lock);
        run_alone(n, fn, ctx);
        return;
    }
    if (pool.helpers < threads - 1)
        grow(threads - 1);
    if (pool.helpers == 0) {
        pthread_mutex_unlock(&pool.lock);
        run_alone(n, fn, ctx);
        return;
    }
    if (threads > pool.helpers + 1)
        threads = pool.helpers + 1;
    pool.busy = 1;
    pool.fn = fn, pool.ctx = ctx, pool.n = n;
    __atomic_store_n(&pool.next, 1, __ATOMIC_RELAXED); /* task 0 is the caller's */
    pool.ids = 1, pool.threads = threads;
    __atomic_store_n(&pool.gen, pool.gen + 1, __ATOMIC_RELAXED);
    if (pool.sleeping >= threads - 1)
        for (int k = 0; k < threads - 1; k++)
            pthread_cond_signal(&pool.work);
    else if (pool.sleeping > 0)
        pthread_cond_broadcast(&pool.work);
    pthread_mutex_unlock(&pool.lock);

    run_tasks(fn, ctx, n, 0, 0);

    /* every task is claimed: wait for the helpers still running one */
    for (int k = 0; k < SPIN_CALLER && __atomic_load_n(&pool.inside, __ATOMIC_ACQUIRE); k++)
        cpu_pause();
    pthread_mutex_lock(&pool.lock);
    while (pool.inside > 0) {
        pool.waiting = 1;
        pthread_cond_wait(&pool.idle, &pool.lock);
    }
    pool.waiting = 0;
    pool.busy = 0;
    pthread_mutex_unlock(&pool.lock);
}
