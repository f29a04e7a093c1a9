/* A small thread pool: rf__pool_run(p, fn, arg) calls fn(arg, i, n) for i = 0..n-1, one per
   thread (the caller is thread 0), and returns when all are done. Idle workers sleep on a
   condition variable -- nothing spins while no work is queued. */

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

static void *rf__pool_worker(void *varg) {
    rf__worker_arg *wa = (rf__worker_arg *)varg;
    rf__pool *p = wa->p;
    int ith = wa->ith;
    uint64_t seen = 0;
    RF_FREE(wa);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->job == seen && !p->quit) pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->quit) break;
        seen = p->job;
        pthread_mutex_unlock(&p->mu);
        p->fn(p->arg, ith, p->n);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
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
        p->quit = 1;
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
#ifdef RF_NO_THREADS
    p->n = 1;
#else
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
        pthread_mutex_lock(&p->mu);
        p->fn = fn;
        p->arg = arg;
        p->pending = p->n - 1;
        p->job++;
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
        fn(arg, 0, p->n);
        pthread_mutex_lock(&p->mu);
        while (p->pending > 0) pthread_cond_wait(&p->cv_done, &p->mu);
        pthread_mutex_unlock(&p->mu);
        return;
    }
#endif
    fn(arg, 0, 1);
}
