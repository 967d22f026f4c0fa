/* emu.cpp: the kernel emulator's runtime (see cuda_runtime.h): device
 * memory as host memory with a registry of allocations, launches run block
 * by block on real threads, barriers and warp exchanges with the checks
 * that cuda_runtime.h lists. */
#include "cuda_runtime.h"

#include <atomic>
#include <condition_variable>
#include <sys/mman.h>
#include <ucontext.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

__thread uint3 threadIdx, blockIdx, blockDim, gridDim;

namespace {

const int kOptinSmem = 227 * 1024, kSmPerDevice = 132, kSmemPerSm = 228 * 1024;
const int kThreadsPerSm = 2048, kBlocksPerSm = 32, kMaxThreads = 1024;
const int kDefaultSmem = 48 * 1024;
const unsigned char kPoison = 0xff;

thread_local cudaError_t last_error = cudaSuccess;
thread_local int current_device = 0; /* cudaSetDevice's */

std::mutex registry_mu;
std::map<uintptr_t, size_t> allocations; /* device memory: start -> size */
std::map<const void *, int> func_smem;    /* cudaFuncAttributeMaxDynamicSharedMemorySize */
std::map<const void *, int> streams;      /* cudaStreamCreate's handles */
std::map<const void *, unsigned> events;  /* cudaEventCreate's handles -> flags */
std::map<const void *, double> event_time; /* host seconds of an event's last record */
std::map<uintptr_t, size_t> host_registered; /* cudaHostRegister's ranges */
std::map<const void *, size_t> host_pinned;  /* cudaMallocHost's blocks */
size_t allocated_bytes;                   /* cudaMalloc'd, in all */

/* Whether s is the default stream (NULL) or one cudaStreamCreate made. */
bool stream_ok(cudaStream_t s)
{
    std::lock_guard<std::mutex> l(registry_mu);
    return !s || streams.count(s);
}

[[noreturn]] void fatal(const char *what)
{
    fprintf(stderr, "inrf kernel emulator: %s\n", what);
    abort();
}

cudaError_t fail(cudaError_t e)
{
    last_error = e;
    return e;
}

std::atomic<unsigned> last_threads(0); /* of the last launch */

/* Shared memory a multiprocessor, in bytes: the H100's, or
 * INRF_EMU_SMEM_PER_SM's (another device for the occupancy query). */
int smem_per_sm(void)
{
    const char *e = getenv("INRF_EMU_SMEM_PER_SM");
    return e && atoi(e) > 0 ? atoi(e) : kSmemPerSm;
}

int devices(void)
{
    const char *e = getenv("INRF_EMU_DEVICES");
    return e ? atoi(e) : 1;
}

/* Whether [p, p + n) lies in one device allocation (1), in none (0), or
 * straddles one's edge (-1). */
int device_side(const void *p, size_t n)
{
    std::lock_guard<std::mutex> l(registry_mu);
    uintptr_t a = (uintptr_t)p;
    auto it = allocations.upper_bound(a);
    if (it != allocations.begin()) {
        auto prev = std::prev(it);
        if (a < prev->first + prev->second)
            return a + n <= prev->first + prev->second ? 1 : -1;
    }
    if (it != allocations.end() && n && a + n > it->first)
        return -1;
    return 0;
}

/* ------------------------------------------------- fiber switching */

/* On x86-64 a switch saves the callee-saved registers and the FP control
 * words on the old stack and pops them from the new one (no system call,
 * where swapcontext makes one to save the signal mask); elsewhere, and
 * under AddressSanitizer (which follows swapcontext, not this), ucontext. */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define EMU_FAST_SWITCH 1
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#undef EMU_FAST_SWITCH
#endif
#endif
#endif

#ifdef EMU_FAST_SWITCH
struct fiber_ctx {
    void *sp;
};
extern "C" void inrf_emu_switch(void **save_sp, void *load_sp);
asm(".text\n"
    ".globl inrf_emu_switch\n"
    ".type inrf_emu_switch, @function\n"
    "inrf_emu_switch:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    subq $8, %rsp\n"
    "    stmxcsr (%rsp)\n"
    "    fnstcw 4(%rsp)\n"
    "    movq %rsp, (%rdi)\n"
    "    movq %rsi, %rsp\n"
    "    ldmxcsr (%rsp)\n"
    "    fldcw 4(%rsp)\n"
    "    addq $8, %rsp\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    ret\n"
    ".size inrf_emu_switch, .-inrf_emu_switch\n");
#else
struct fiber_ctx {
    ucontext_t uc;
};
#endif

/* ---------------------------------------------------------- a block */

struct block_state {
    std::mutex mu;
    std::condition_variable cv;
    unsigned threads = 0;
    unsigned alive = 0, arrived = 0; /* __syncthreads */
    unsigned long long gen = 0;
    const void *site = nullptr;
    std::vector<unsigned> warp_arrived; /* warp exchanges */
    std::vector<unsigned long long> warp_gen;
    std::vector<unsigned char> slots;   /* 8 bytes a thread */
    unsigned done = 0;                  /* threads through the block */
    unsigned long long block_gen = 0;
    unsigned char *smem = nullptr;
    size_t smem_size = 0;
    /* fibers: the threads of a block as coroutines of one host thread */
    bool fibers = false;
    std::vector<fiber_ctx> ctx;
    std::vector<int> state;             /* fiber_state */
    std::vector<const void *> waits_at; /* barrier site */
    fiber_ctx scheduler;
};

enum fiber_state { RUNNABLE, AT_BARRIER, AT_WARP, DONE };

thread_local block_state *self = nullptr;
thread_local unsigned self_tid = 0;

/* Releases a barrier whose remaining threads have all arrived. */
void release_if_complete(block_state *b)
{
    if (b->arrived && b->arrived == b->alive) {
        b->arrived = 0;
        b->site = nullptr;
        b->gen++;
        b->cv.notify_all();
    }
}

unsigned warp_size_of(const block_state *b, unsigned warp)
{
    unsigned first = 32 * warp;
    return b->threads - first < 32 ? b->threads - first : 32;
}

void warp_barrier(block_state *b, unsigned warp)
{
    std::unique_lock<std::mutex> l(b->mu);
    if (++b->warp_arrived[warp] == warp_size_of(b, warp)) {
        b->warp_arrived[warp] = 0;
        b->warp_gen[warp]++;
        b->cv.notify_all();
        return;
    }
    unsigned long long g = b->warp_gen[warp];
    b->cv.wait(l, [&] { return b->warp_gen[warp] != g; });
}

/* Fibers: suspends the calling thread at a barrier until the scheduler
 * (run_block_fibers) releases it. */
void fiber_wait(block_state *b, int state, const void *site)
{
    b->state[self_tid] = state;
    b->waits_at[self_tid] = site;
#ifdef EMU_FAST_SWITCH
    inrf_emu_switch(&b->ctx[self_tid].sp, b->scheduler.sp);
#else
    if (swapcontext(&b->ctx[self_tid].uc, &b->scheduler.uc) != 0)
        fatal("swapcontext failed");
#endif
}

} /* namespace */

/* ------------------------------------------------------- device side */

__attribute__((noinline)) void __syncthreads(void)
{
    block_state *b = self;
    const void *site = __builtin_return_address(0);
    if (b->fibers) {
        fiber_wait(b, AT_BARRIER, site);
        return;
    }
    std::unique_lock<std::mutex> l(b->mu);
    if (b->arrived == 0)
        b->site = site;
    else if (b->site != site)
        fatal("__syncthreads reached from different places by the threads of a block");
    unsigned long long g = b->gen;
    b->arrived++;
    release_if_complete(b);
    b->cv.wait(l, [&] { return b->gen != g; });
}

void *inrf_emu::shared_memory(void)
{
    return self->smem;
}

void inrf_emu::check_shared_load(const void *p, size_t size)
{
    const block_state *b = self;
    const uintptr_t a = (uintptr_t)p, base = (uintptr_t)b->smem;
    if (a < base || a + size > base + b->smem_size)
        fatal("a vector load outside the block's dynamic shared memory");
    if (a % size != 0)
        fatal("a vector load from shared memory not aligned to its size");
}

void inrf_emu::warp_exchange(const void *v, void *out, size_t size, unsigned mask, int delta)
{
    block_state *b = self;
    const unsigned tid = self_tid, warp = tid / 32, lane = tid % 32;
    const unsigned n = warp_size_of(b, warp);
    const unsigned full = n == 32 ? 0xffffffffu : (1u << n) - 1;
    if (size > 8)
        fatal("warp shuffle of more than 8 bytes");
    if ((mask & full) != full)
        fatal("warp shuffle with a partial mask (not emulated)");
    memcpy(&b->slots[8 * tid], v, size);
    if (b->fibers)
        fiber_wait(b, AT_WARP, nullptr);
    else
        warp_barrier(b, warp);
    const unsigned src = lane + (unsigned)delta < n ? tid + (unsigned)delta : tid;
    memcpy(out, &b->slots[8 * src], size);
    if (b->fibers) /* the slots are free again */
        fiber_wait(b, AT_WARP, nullptr);
    else
        warp_barrier(b, warp);
}

namespace {

struct fiber_run {
    block_state *b;
    void (*body)(void *);
    void *ctx;
};
thread_local fiber_run *running = nullptr;

void set_thread_index(const inrf_emu::launch_config &c, unsigned tid)
{
    self_tid = tid;
    threadIdx.x = tid % c.block.x;
    threadIdx.y = tid / c.block.x % c.block.y;
    threadIdx.z = tid / (c.block.x * c.block.y);
}

void fiber_entry(void)
{
    fiber_run *r = running;
    r->body(r->ctx);
    r->b->state[self_tid] = DONE;
#ifdef EMU_FAST_SWITCH
    void *unused;
    inrf_emu_switch(&unused, r->b->scheduler.sp); /* never resumed */
    fatal("a finished fiber was resumed");
#endif
    /* ucontext: uc_link returns to the scheduler */
}

/* Thread t's fiber, at the start of the kernel. */
__attribute__((noinline)) void fiber_make(block_state *b, unsigned t, void *stack, size_t size)
{
    b->state[t] = RUNNABLE;
#ifdef EMU_FAST_SWITCH
    /* the frame inrf_emu_switch pops: FP control words, six registers, and
     * fiber_entry as the return address, entered with rsp = 8 mod 16 */
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    void **sp = (void **)(top - 8);
    *--sp = (void *)fiber_entry;
    for (int k = 0; k < 6; k++)
        *--sp = nullptr;
    uint32_t ctl[2];
    asm volatile("stmxcsr %0\n\tfnstcw %1" : "=m"(ctl[0]), "=m"(ctl[1]));
    ctl[1] &= 0xffff;
    sp--;
    memcpy(sp, ctl, sizeof ctl);
    b->ctx[t].sp = sp;
#else
    if (getcontext(&b->ctx[t].uc) != 0)
        fatal("getcontext failed");
    b->ctx[t].uc.uc_stack.ss_sp = stack;
    b->ctx[t].uc.uc_stack.ss_size = size;
    b->ctx[t].uc.uc_link = &b->scheduler.uc;
    makecontext(&b->ctx[t].uc, fiber_entry, 0);
#endif
}

/* Runs one block's threads as fibers: each runs until it waits at a
 * barrier or ends; a barrier is released when every thread that has not
 * ended waits at it (a warp exchange: every such thread of the warp). */
void run_block_fibers(block_state *b, const inrf_emu::launch_config &c, fiber_run *r,
                      std::vector<void *> &stacks, size_t stack_size)
{
    const unsigned T = b->threads, W = (T + 31) / 32;
    for (unsigned t = 0; t < T; t++)
        fiber_make(b, t, stacks[t], stack_size);
    running = r;
    for (;;) {
        bool ran = false;
        for (unsigned t = 0; t < T; t++) {
            if (b->state[t] != RUNNABLE)
                continue;
            set_thread_index(c, t);
#ifdef EMU_FAST_SWITCH
            inrf_emu_switch(&b->scheduler.sp, b->ctx[t].sp);
#else
            if (swapcontext(&b->scheduler.uc, &b->ctx[t].uc) != 0)
                fatal("swapcontext failed");
#endif
            ran = true;
        }
        bool released = false, all_done = true, all_at_barrier = true;
        const void *site = nullptr;
        for (unsigned t = 0; t < T; t++) {
            if (b->state[t] == DONE)
                continue;
            all_done = false;
            if (b->state[t] != AT_BARRIER)
                all_at_barrier = false;
            else if (site && b->waits_at[t] != site)
                fatal("__syncthreads reached from different places by the threads of a block");
            else
                site = b->waits_at[t];
        }
        if (all_done)
            break;
        if (all_at_barrier) {
            for (unsigned t = 0; t < T; t++)
                if (b->state[t] == AT_BARRIER)
                    b->state[t] = RUNNABLE;
            released = true;
        }
        for (unsigned w = 0; w < W && !released; w++) {
            bool waiting = false, complete = true;
            for (unsigned t = 32 * w; t < T && t < 32 * w + 32; t++) {
                waiting |= b->state[t] == AT_WARP;
                complete &= b->state[t] == AT_WARP;
            }
            if (waiting && !complete)
                continue;
            for (unsigned t = 32 * w; waiting && t < T && t < 32 * w + 32; t++)
                b->state[t] = RUNNABLE;
            released |= waiting;
        }
        if (!ran && !released)
            fatal("deadlock: threads of a block wait at barriers that others never reach");
    }
    running = nullptr;
}

} /* namespace */

namespace {

/* A block's state for c's threads, its shared memory poisoned. */
void init_block(block_state *b, const inrf_emu::launch_config &c)
{
    const size_t nthreads = (size_t)c.block.x * c.block.y * c.block.z;
    b->threads = b->alive = (unsigned)nthreads;
    b->warp_arrived.assign((nthreads + 31) / 32, 0);
    b->warp_gen.assign((nthreads + 31) / 32, 0);
    b->slots.assign(8 * nthreads, 0);
    b->smem_size = c.smem;
    /* 16-byte aligned, as the kernels' 16-byte loads need; aligned_alloc takes
     * a size that is a multiple of the alignment */
    b->smem = (unsigned char *)aligned_alloc(16, c.smem ? (c.smem + 15) & ~(size_t)15 : 16);
    if (!b->smem)
        fatal("out of memory for shared memory");
    memset(b->smem, kPoison, c.smem);
}

void set_block_index(const inrf_emu::launch_config &c, size_t k)
{
    blockIdx.x = (unsigned)(k % c.grid.x);
    blockIdx.y = (unsigned)(k / c.grid.x % c.grid.y);
    blockIdx.z = (unsigned)(k / ((size_t)c.grid.x * c.grid.y));
}

/* A host thread running blocks as fibers, taking the next block index
 * until none is left. */
void fiber_worker(const inrf_emu::launch_config &c, void (*body)(void *), void *ctx,
                  std::atomic<size_t> &next, size_t nblocks)
{
    block_state b;
    init_block(&b, c);
    b.fibers = true;
    const size_t nthreads = b.threads, stack_size = 256 * 1024;
    std::vector<void *> stacks(nthreads);
    for (auto &s : stacks) {
        s = mmap(nullptr, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                 0);
        if (s == MAP_FAILED)
            fatal("out of memory for fiber stacks");
    }
    b.ctx.resize(nthreads);
    b.state.assign(nthreads, DONE);
    b.waits_at.assign(nthreads, nullptr);
    fiber_run r = {&b, body, ctx};
    self = &b;
    blockDim = {c.block.x, c.block.y, c.block.z};
    gridDim = {c.grid.x, c.grid.y, c.grid.z};
    bool first = true;
    for (size_t k; (k = next++) < nblocks; first = false) {
        set_block_index(c, k);
        if (!first)
            memset(b.smem, kPoison, b.smem_size);
        run_block_fibers(&b, c, &r, stacks, stack_size);
    }
    self = nullptr;
    for (auto s : stacks)
        munmap(s, stack_size);
    free(b.smem);
}

} /* namespace */

void inrf_emu::launch(const launch_config &c, void (*body)(void *), void *ctx)
{
    const size_t nthreads = (size_t)c.block.x * c.block.y * c.block.z;
    const size_t nblocks = (size_t)c.grid.x * c.grid.y * c.grid.z;
    if (devices() < 1) {
        fail(cudaErrorNoDevice);
        return;
    }
    if (nthreads < 1 || nthreads > (size_t)kMaxThreads || nblocks < 1 ||
        c.grid.x > 0x7fffffffu || c.grid.y > 65535 || c.grid.z > 65535) {
        fail(cudaErrorInvalidConfiguration);
        return;
    }
    if (!stream_ok(c.stream)) {
        fprintf(stderr, "inrf kernel emulator: a launch on no stream\n");
        fail(cudaErrorInvalidValue);
        return;
    }
    last_threads = (unsigned)nthreads;
    int limit = kDefaultSmem;
    {
        std::lock_guard<std::mutex> l(registry_mu);
        auto it = func_smem.find(c.func);
        if (it != func_smem.end() && it->second > limit)
            limit = it->second;
    }
    if (c.smem > (size_t)limit) {
        fprintf(stderr, "inrf kernel emulator: a launch asks for %zu bytes of dynamic shared "
                        "memory, the kernel's limit is %d\n", c.smem, limit);
        fail(cudaErrorInvalidValue);
        return;
    }
    /* Fibers by default, blocks spread over the host's cores; with
     * INRF_EMU_THREADS=1, one host thread a thread and one block at a time,
     * for ThreadSanitizer. */
    const char *threads_env = getenv("INRF_EMU_THREADS");
    if (!threads_env || !atoi(threads_env)) {
        std::atomic<size_t> next(0);
        size_t workers = std::thread::hardware_concurrency();
        workers = workers < 1 ? 1 : workers > nblocks ? nblocks : workers;
        std::vector<std::thread> pool;
        for (size_t k = 1; k < workers; k++)
            pool.emplace_back(fiber_worker, std::cref(c), body, ctx, std::ref(next), nblocks);
        fiber_worker(c, body, ctx, next, nblocks);
        for (auto &t : pool)
            t.join();
        return;
    }
    block_state b;
    init_block(&b, c);
    auto thread_main = [&](unsigned tid) {
        self = &b;
        blockDim = {c.block.x, c.block.y, c.block.z};
        gridDim = {c.grid.x, c.grid.y, c.grid.z};
        set_thread_index(c, tid);
        for (size_t k = 0; k < nblocks; k++) {
            set_block_index(c, k);
            body(ctx);
            std::unique_lock<std::mutex> l(b.mu);
            b.alive--; /* exited threads leave the block's barriers */
            release_if_complete(&b);
            if (++b.done == b.threads) { /* the next block starts afresh */
                b.done = 0;
                b.alive = b.threads;
                memset(b.smem, kPoison, b.smem_size);
                b.block_gen++;
                b.cv.notify_all();
            } else {
                unsigned long long g = b.block_gen;
                b.cv.wait(l, [&] { return b.block_gen != g; });
            }
        }
        self = nullptr;
    };
    std::vector<std::thread> pool;
    pool.reserve(nthreads);
    for (unsigned t = 0; t < nthreads; t++)
        pool.emplace_back(thread_main, t);
    for (auto &t : pool)
        t.join();
    free(b.smem);
}

/* ---------------------------------------------------------- host side */

extern "C" {

cudaError_t cudaGetDeviceCount(int *count)
{
    *count = devices();
    if (*count < 1) {
        *count = 0;
        return fail(cudaErrorNoDevice);
    }
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    if (devices() < 1)
        return fail(cudaErrorNoDevice);
    if (device < 0 || device >= devices())
        return fail(cudaErrorInvalidDevice);
    current_device = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device)
{
    *device = current_device;
    return devices() < 1 ? fail(cudaErrorNoDevice) : cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device)
{
    if (device < 0 || device >= devices())
        return fail(cudaErrorInvalidDevice);
    switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = kMaxThreads; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = kDefaultSmem; break;
    case cudaDevAttrMultiProcessorCount: *value = kSmPerDevice; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = smem_per_sm(); break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = kOptinSmem; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    default: return fail(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

/* INRF_EMU_DEVICE_MEMORY's bytes, or 80 GiB. */
static size_t device_memory(void)
{
    const char *e = getenv("INRF_EMU_DEVICE_MEMORY");
    return e ? (size_t)strtoull(e, nullptr, 10) : (size_t)80 << 30;
}

cudaError_t cudaMalloc(void **ptr, size_t size)
{
    *ptr = nullptr;
    if (devices() < 1)
        return fail(cudaErrorNoDevice);
    {
        std::lock_guard<std::mutex> l(registry_mu);
        if (size > device_memory() - allocated_bytes)
            return fail(cudaErrorMemoryAllocation);
    }
    void *p = malloc(size ? size : 1);
    if (!p)
        return fail(cudaErrorMemoryAllocation);
    memset(p, kPoison, size);
    std::lock_guard<std::mutex> l(registry_mu);
    allocations[(uintptr_t)p] = size ? size : 1;
    allocated_bytes += size ? size : 1;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    if (devices() < 1)
        return fail(cudaErrorNoDevice);
    std::lock_guard<std::mutex> l(registry_mu);
    *total_bytes = device_memory();
    *free_bytes = *total_bytes > allocated_bytes ? *total_bytes - allocated_bytes : 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    if (device < 0 || device >= devices())
        return fail(devices() < 1 ? cudaErrorNoDevice : cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "inrf kernel emulator");
    prop->totalGlobalMem = device_memory();
    prop->major = 9;
    prop->minor = 0;
    prop->multiProcessorCount = kSmPerDevice;
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t size)
{
    *ptr = nullptr;
    if (devices() < 1)
        return fail(cudaErrorNoDevice);
    void *p = malloc(size ? size : 1);
    if (!p)
        return fail(cudaErrorMemoryAllocation);
    std::lock_guard<std::mutex> l(registry_mu);
    host_pinned[p] = size;
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFreeHost(void *ptr)
{
    if (!ptr)
        return cudaSuccess;
    std::lock_guard<std::mutex> l(registry_mu);
    if (!host_pinned.erase(ptr)) {
        fprintf(stderr, "inrf kernel emulator: cudaFreeHost of memory cudaMallocHost did not give\n");
        return fail(cudaErrorInvalidValue);
    }
    free(ptr);
    return cudaSuccess;
}

cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned flags)
{
    if (devices() < 1)
        return fail(cudaErrorNoDevice);
    if (!ptr || !size || (flags & ~(unsigned)(cudaHostRegisterPortable | cudaHostRegisterReadOnly)) ||
        device_side(ptr, size) != 0) {
        fprintf(stderr, "inrf kernel emulator: cudaHostRegister of %zu bytes, flags %#x: %s\n",
                size, flags, !ptr || !size ? "an empty range" : device_side(ptr, size) ? "device memory" : "unknown flags");
        return fail(cudaErrorInvalidValue);
    }
    std::lock_guard<std::mutex> l(registry_mu);
    uintptr_t a = (uintptr_t)ptr;
    auto it = host_registered.upper_bound(a);
    if ((it != host_registered.end() && a + size > it->first) ||
        (it != host_registered.begin() && std::prev(it)->first + std::prev(it)->second > a))
        return fail(cudaErrorHostMemoryAlreadyRegistered);
    host_registered[a] = size;
    return cudaSuccess;
}

cudaError_t cudaHostUnregister(void *ptr)
{
    std::lock_guard<std::mutex> l(registry_mu);
    return host_registered.erase((uintptr_t)ptr) ? cudaSuccess
                                                 : fail(cudaErrorHostMemoryNotRegistered);
}

int inrf_emu_device_range(const void *p, size_t bytes)
{
    return device_side(p, bytes);
}

int inrf_emu_stream_valid(cudaStream_t s)
{
    return stream_ok(s);
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned flags)
{
    *event = nullptr;
    if (devices() < 1)
        return fail(cudaErrorNoDevice);
    if (flags & ~(unsigned)cudaEventDisableTiming)
        return fail(cudaErrorInvalidValue);
    void *h = malloc(1);
    if (!h)
        return fail(cudaErrorMemoryAllocation);
    std::lock_guard<std::mutex> l(registry_mu);
    events[h] = flags;
    *event = (cudaEvent_t)h;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    return cudaEventCreateWithFlags(event, cudaEventDefault);
}

/* Whether e is a live event (the registry's lock held). */
static bool event_ok_locked(cudaEvent_t e)
{
    return e && events.count(e);
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    std::lock_guard<std::mutex> l(registry_mu);
    if (!event_ok_locked(event)) {
        fprintf(stderr, "inrf kernel emulator: cudaEventDestroy of no event\n");
        return fail(cudaErrorInvalidResourceHandle);
    }
    events.erase(event);
    event_time.erase(event);
    free(event);
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    if (!stream_ok(stream))
        return fail(cudaErrorInvalidResourceHandle);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    std::lock_guard<std::mutex> l(registry_mu);
    if (!event_ok_locked(event))
        return fail(cudaErrorInvalidResourceHandle);
    event_time[event] = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    std::lock_guard<std::mutex> l(registry_mu);
    return event_ok_locked(event) ? last_error : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventQuery(cudaEvent_t event)
{
    std::lock_guard<std::mutex> l(registry_mu);
    return event_ok_locked(event) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    std::lock_guard<std::mutex> l(registry_mu);
    if (!event_ok_locked(start) || !event_ok_locked(end) ||
        ((events[start] | events[end]) & cudaEventDisableTiming))
        return fail(cudaErrorInvalidResourceHandle);
    if (!event_time.count(start) || !event_time.count(end))
        return fail(cudaErrorInvalidResourceHandle);
    *ms = (float)(1e3 * (event_time[end] - event_time[start]));
    return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags)
{
    if (!stream_ok(stream) || flags)
        return fail(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> l(registry_mu);
    return event_ok_locked(event) ? cudaSuccess : fail(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaFree(void *ptr)
{
    if (!ptr)
        return cudaSuccess;
    std::lock_guard<std::mutex> l(registry_mu);
    auto it = allocations.find((uintptr_t)ptr);
    if (it == allocations.end()) {
        fprintf(stderr, "inrf kernel emulator: cudaFree of memory cudaMalloc did not give\n");
        return fail(cudaErrorInvalidValue);
    }
    allocated_bytes -= it->second;
    allocations.erase(it);
    free(ptr);
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream)
{
    *stream = nullptr;
    if (devices() < 1)
        return fail(cudaErrorNoDevice);
    void *h = malloc(1);
    if (!h)
        return fail(cudaErrorMemoryAllocation);
    std::lock_guard<std::mutex> l(registry_mu);
    streams[h] = 1;
    *stream = (cudaStream_t)h;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    std::lock_guard<std::mutex> l(registry_mu);
    if (!stream || !streams.erase(stream)) {
        fprintf(stderr, "inrf kernel emulator: cudaStreamDestroy of no stream\n");
        return fail(cudaErrorInvalidValue);
    }
    free(stream);
    return cudaSuccess;
}

cudaError_t cudaMallocAsync(void **ptr, size_t size, cudaStream_t stream)
{
    if (!stream_ok(stream)) {
        *ptr = nullptr;
        return fail(cudaErrorInvalidValue);
    }
    return cudaMalloc(ptr, size);
}

cudaError_t cudaFreeAsync(void *ptr, cudaStream_t stream)
{
    return stream_ok(stream) ? cudaFree(ptr) : fail(cudaErrorInvalidValue);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t size, cudaMemcpyKind kind)
{
    if (!size)
        return cudaSuccess;
    int d = device_side(dst, size), s = device_side(src, size);
    int want_d = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    int want_s = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (d < 0 || s < 0 || (kind != cudaMemcpyDefault && (d != want_d || s != want_s))) {
        fprintf(stderr, "inrf kernel emulator: cudaMemcpy of %zu bytes, kind %d: destination "
                        "%s, source %s\n", size, (int)kind,
                d < 0 ? "beyond an allocation" : d ? "on the device" : "on the host",
                s < 0 ? "beyond an allocation" : s ? "on the device" : "on the host");
        return fail(cudaErrorInvalidValue);
    }
    memmove(dst, src, size);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t size, cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    return stream_ok(stream) ? cudaMemcpy(dst, src, size, kind) : fail(cudaErrorInvalidValue);
}

cudaError_t cudaMemset(void *ptr, int value, size_t size)
{
    if (size && device_side(ptr, size) != 1) {
        fprintf(stderr, "inrf kernel emulator: cudaMemset of memory not on the device\n");
        return fail(cudaErrorInvalidValue);
    }
    memset(ptr, value, size);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t size, cudaStream_t stream)
{
    return stream_ok(stream) ? cudaMemset(ptr, value, size) : fail(cudaErrorInvalidValue);
}

cudaError_t cudaDeviceSynchronize(void)
{
    return last_error;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    return stream_ok(stream) ? last_error : fail(cudaErrorInvalidValue);
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    return last_error;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorHostMemoryAlreadyRegistered: return "part or all of the requested memory range is already mapped";
    case cudaErrorHostMemoryNotRegistered: return "pointer does not correspond to a registered memory region";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}

cudaError_t inrf_emu_func_set_attribute(const void *func, cudaFuncAttribute attr, int value)
{
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 || value > kOptinSmem)
        return fail(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> l(registry_mu);
    func_smem[func] = value;
    return cudaSuccess;
}

unsigned inrf_emu_last_block_threads(void)
{
    return last_threads;
}

cudaError_t inrf_emu_occupancy(int *blocks, const void *func, int threads, size_t smem)
{
    (void)func;
    *blocks = 0;
    if (threads < 1 || threads > kMaxThreads)
        return fail(cudaErrorInvalidValue);
    if (smem > (size_t)kOptinSmem)
        return cudaSuccess;
    int by_threads = kThreadsPerSm / (((threads + 31) / 32) * 32);
    int by_smem = (int)(smem_per_sm() / (smem + 1024)); /* 1 KiB reserved a block */
    int n = by_threads < by_smem ? by_threads : by_smem;
    *blocks = n < kBlocksPerSm ? n : kBlocksPerSm;
    return cudaSuccess;
}

} /* extern "C" */
