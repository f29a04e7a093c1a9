/* A small thread pool: rf__pool_run(p, fn, arg) calls fn(arg, i, n) for i = 0..n-1, one per
   thread (the caller is thread 0), and returns when all are done.

   A decode step runs ~100 jobs of 10-100 us each (one per matrix), so waking a worker through a
   condition variable (several us, a syscall or two) would cost a good share of the step. After a
   job, workers and the caller therefore spin on the job counter for RF__POOL_SPIN_S before they
   sleep on the condition variable: back-to-back jobs start without a syscall, and an idle pool
   still sleeps -- nothing spins longer than that while no work is queued. A spinning thread
   yields the core every ~1 us: on a machine with more runnable threads than cores the thread it
   waits for may need that core (measured: a plain spin fell to a fifth of the speed with one
   other busy process on 2 cores). The pool needs the GCC/Clang __atomic builtins (the job counter,
   the pending count, ops.c's shared row cursor); a compiler without them gets a one-thread pool. */

#define RF__POOL_SPIN_S 200e-6

#if defined(__GNUC__) || defined(__clang__)
#define RF__POOL_SPIN 1
#define RF__LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define RF__STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define RF__DEC(p) __atomic_sub_fetch((p), 1, __ATOMIC_ACQ_REL)
#define RF__FETCH_ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#if defined(__x86_64__) || defined(__i386__)
#define RF__RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define RF__RELAX() __asm__ __volatile__("yield")
#else
#define RF__RELAX() ((void)0)
#endif
#else
#define RF__POOL_SPIN 0
#define RF__LOAD(p) (*(p))
#define RF__STORE(p, v) (*(p) = (v))
#define RF__DEC(p) (--*(p))
#define RF__FETCH_ADD(p, v) ((*(p) += (v)) - (v))
#define RF__RELAX() ((void)0)
#endif

typedef void (*rf__task_fn)(void *arg, int ith, int nth);

typedef struct rf__pool {
    int n; /* threads, the caller included */
#ifndef RF_NO_THREADS
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    rf__task_fn fn;
    void *arg;
    uint64_t job;   /* bumped for every rf__pool_run */
    int pending;    /* workers still running the current job */
    int quit;
    int started;    /* workers successfully created */
#endif
} rf__pool;

#ifndef RF_NO_THREADS
typedef struct rf__worker_arg {
    rf__pool *p;
    int ith;
} rf__worker_arg;

/* One turn of a bounded spin (i counts the turns, t0 starts at 0): a pause, and every ~64 turns
   (~1 us) the core given up to a thread that wants it and the clock checked. 0 once the spin has
   lasted RF__POOL_SPIN_S. */
static int rf__pool_spin_turn(int i, double *t0) {
#if RF__POOL_SPIN
    RF__RELAX();
    if ((i & 63) == 63) {
        double t = rf__now();
        if (*t0 == 0) *t0 = t;
        else if (t - *t0 > RF__POOL_SPIN_S) return 0;
        sched_yield();
    }
    return 1;
#else
    (void)i, (void)t0;
    return 0;
#endif
}

/* Spin until *v != old (or *quit) for at most RF__POOL_SPIN_S; 1 if it changed. */
static int rf__pool_spin_u64(const uint64_t *v, uint64_t old, const int *quit) {
    double t0 = 0;
    int i;
    for (i = 0;; i++) {
        if (RF__LOAD(v) != old || RF__LOAD(quit)) return 1;
        if (!rf__pool_spin_turn(i, &t0)) return 0;
    }
}

/* Spin until *v == 0 (or *quit) for at most RF__POOL_SPIN_S; 1 if it reached 0. */
static int rf__pool_spin_int(const int *v, const int *quit) {
    double t0 = 0;
    int i;
    for (i = 0;; i++) {
        if (RF__LOAD(v) == 0 || RF__LOAD(quit)) return 1;
        if (!rf__pool_spin_turn(i, &t0)) return 0;
    }
}

static void *rf__pool_worker(void *varg) {
    rf__worker_arg *wa = (rf__worker_arg *)varg;
    rf__pool *p = wa->p;
    int ith = wa->ith;
    uint64_t seen = 0;
    RF_FREE(wa);
    for (;;) {
        if (!rf__pool_spin_u64(&p->job, seen, &p->quit)) {
            pthread_mutex_lock(&p->mu);
            while (RF__LOAD(&p->job) == seen && !RF__LOAD(&p->quit)) pthread_cond_wait(&p->cv_work, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (RF__LOAD(&p->quit)) break;
        seen = RF__LOAD(&p->job); /* fn and arg were written before job (release / acquire) */
        p->fn(p->arg, ith, p->n);
        if (RF__DEC(&p->pending) == 0) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}
#endif

static int rf__cpu_count(void) {
#if defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
#else
    return 1;
#endif
}

static void rf__pool_free(rf__pool *p) {
    if (!p) return;
#ifndef RF_NO_THREADS
    if (p->th) {
        int i;
        pthread_mutex_lock(&p->mu);
        RF__STORE(&p->quit, 1);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        for (i = 0; i < p->started; i++) pthread_join(p->th[i], NULL);
        RF_FREE(p->th);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv_work);
        pthread_cond_destroy(&p->cv_done);
    }
#endif
    RF_FREE(p);
}

/* n_threads <= 0: one per core. A thread that cannot be created just means fewer threads. */
static rf_status rf__pool_new(int n_threads, rf__pool **out) {
    rf__pool *p = RF__NEWZ(rf__pool, 1);
    if (!p) return rf__err(RF_ERR_OOM, "thread pool: out of memory");
    p->n = n_threads > 0 ? n_threads : rf__cpu_count();
#if defined(RF_NO_THREADS) || !RF__POOL_SPIN
    p->n = 1; /* without atomics (see the top), one thread: the counters above are plain there */
#endif
#ifndef RF_NO_THREADS
    if (p->n > 1) {
        int i;
        if (!(p->th = RF__NEW(pthread_t, p->n - 1))) {
            RF_FREE(p);
            return rf__err(RF_ERR_OOM, "thread pool: out of memory");
        }
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv_work, NULL);
        pthread_cond_init(&p->cv_done, NULL);
        for (i = 0; i < p->n - 1; i++) {
            rf__worker_arg *wa = RF__NEW(rf__worker_arg, 1);
            if (!wa) break;
            wa->p = p;
            wa->ith = i + 1;
            if (pthread_create(&p->th[i], NULL, rf__pool_worker, wa) != 0) {
                RF_FREE(wa);
                break;
            }
            p->started++;
        }
        p->n = p->started + 1;
    }
#endif
    *out = p;
    return RF_OK;
}

static void rf__pool_run(rf__pool *p, rf__task_fn fn, void *arg) {
#ifndef RF_NO_THREADS
    if (p->n > 1) {
        int zero = 0;
        p->fn = fn;
        p->arg = arg;
        RF__STORE(&p->pending, p->n - 1);
        pthread_mutex_lock(&p->mu);
        RF__STORE(&p->job, p->job + 1);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        fn(arg, 0, p->n);
        if (RF__LOAD(&p->pending) > 0 && !rf__pool_spin_int(&p->pending, &zero)) {
            pthread_mutex_lock(&p->mu);
            while (RF__LOAD(&p->pending) > 0) pthread_cond_wait(&p->cv_done, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        return;
    }
#else
    (void)p;
#endif
    fn(arg, 0, 1);
}
