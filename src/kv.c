/* The KV cache's memory: pages of RF_KV_PAGE positions, each holding those positions' k and v rows
   of every layer. A context maps position p to page p / RF_KV_PAGE of its page table (forward.c:
   rf__kv_at). The pages come from a pool:

   - a shared pool (rf_kv_pool_new), for many contexts of one model -- the server's slots: it
     allocates a page when a context first needs it and takes it back when the context is
     truncated or freed, so contexts hold memory for the positions they use, not for n_ctx each;
     pages once allocated are kept for reuse (the pool's high-water mark stays resident). When
     every page is taken, growing a context fails with RF_ERR_OOM and nothing is run.
   - a private pool, for a context made without one: one allocation of ceil(n_ctx / RF_KV_PAGE)
     pages up front, as a contiguous cache would be -- a lone context never runs out mid-way.

   Page layout: [k, v][n_layer][RF_KV_PAGE][kv_row_bytes]. */

struct rf_kv_pool {
    rf_type type;            /* the cache's element type: f16, q8_0 or f32 */
    int64_t n_layer;
    uint64_t row_bytes;      /* one position's k (or v) row of one layer */
    uint64_t page_bytes;
    int32_t n_pages;         /* the budget */
    int32_t n_alloc;         /* pages allocated so far (shared pools allocate as they go) */
    int32_t n_free;          /* of the allocated pages, on the free list */
    uint8_t **pages;         /* [n_pages]: the allocated pages, NULL past n_alloc */
    int32_t *free_list;      /* [n_pages]: indices of free allocated pages */
    uint8_t *block;          /* a private pool's one allocation (its pages point into it) */
#ifndef RF_NO_THREADS
    pthread_mutex_t mu;      /* contexts of different threads may share a pool */
#endif
};

static void rf__kv_lock(rf_kv_pool *p) {
#ifndef RF_NO_THREADS
    pthread_mutex_lock(&p->mu);
#else
    (void)p;
#endif
}

static void rf__kv_unlock(rf_kv_pool *p) {
#ifndef RF_NO_THREADS
    pthread_mutex_unlock(&p->mu);
#else
    (void)p;
#endif
}

static rf_type rf__kv_rf_type(rf_kv_type t) {
    return t == RF_KV_F16 ? RF_TYPE_F16 : t == RF_KV_Q8_0 ? RF_TYPE_Q8_0 : RF_TYPE_F32;
}

RF_API void rf_kv_pool_free(rf_kv_pool *p) {
    int32_t i;
    if (!p) return;
    if (p->block) RF_FREE(p->block);
    else
        for (i = 0; i < p->n_alloc; i++) RF_FREE(p->pages[i]);
    RF_FREE(p->pages);
    RF_FREE(p->free_list);
#ifndef RF_NO_THREADS
    pthread_mutex_destroy(&p->mu);
#endif
    RF_FREE(p);
}

/* A pool for n_positions positions (rounded up to whole pages); `up_front`: allocate them all now
   in one block (a private pool) instead of page by page as they are first taken. */
static rf_status rf__kv_pool_make(const rf_model *m, rf_type type, int64_t n_positions, int up_front, rf_kv_pool **out) {
    rf_kv_pool *p;
    int64_t kv_dim = m->n_head_kv * m->head_dim, n_pages = (n_positions + RF_KV_PAGE - 1) / RF_KV_PAGE, total;
    rf_status s;
    int32_t i;
    *out = NULL;
    if (n_positions <= 0 || n_pages > INT32_MAX / 2)
        return rf__err(RF_ERR_INVALID_ARG, "KV pool: %lld positions is not a pool size", (long long)n_positions);
    if (!(p = RF__NEWZ(rf_kv_pool, 1))) return rf__err(RF_ERR_OOM, "KV pool: out of memory");
#ifndef RF_NO_THREADS
    pthread_mutex_init(&p->mu, NULL);
#endif
    p->type = type;
    p->n_layer = m->n_layer;
    p->n_pages = (int32_t)n_pages;
    if ((s = rf_type_row_bytes(type, kv_dim, &p->row_bytes)) != RF_OK) {
        rf_kv_pool_free(p);
        return rf__err(s, "KV cache: a row of %lld values cannot be stored as %s", (long long)kv_dim, rf_type_name(type));
    }
    p->page_bytes = 2 * (uint64_t)m->n_layer * RF_KV_PAGE * p->row_bytes;
    if (p->page_bytes / p->row_bytes != 2 * (uint64_t)m->n_layer * RF_KV_PAGE ||
        (double)p->page_bytes * (double)n_pages > (double)SIZE_MAX) {
        rf_kv_pool_free(p);
        return rf__err(RF_ERR_TOO_LARGE, "KV cache for %lld positions overflows", (long long)n_positions);
    }
    p->pages = RF__NEWZ(uint8_t *, n_pages);
    p->free_list = RF__NEW(int32_t, n_pages);
    if (up_front && p->pages) p->block = RF__NEW(uint8_t, p->page_bytes * (uint64_t)n_pages);
    if (!p->pages || !p->free_list || (up_front && !p->block)) {
        double mb = (double)p->page_bytes * (double)n_pages / 1e6;
        total = n_pages * RF_KV_PAGE;
        rf_kv_pool_free(p);
        return rf__err(RF_ERR_OOM, "KV cache: out of memory for %lld positions (%.1f MB)", (long long)total, mb);
    }
    if (up_front) {
        for (i = 0; i < p->n_pages; i++) {
            p->pages[i] = p->block + (uint64_t)i * p->page_bytes;
            p->free_list[i] = p->n_pages - 1 - i; /* taken from the end: page 0 first */
        }
        p->n_alloc = p->n_free = p->n_pages;
    }
    *out = p;
    return RF_OK;
}

RF_API rf_status rf_kv_pool_new(const rf_model *m, rf_kv_type kv_type, int64_t n_positions, rf_kv_pool **out) {
    if (!out) return rf__err(RF_ERR_INVALID_ARG, "rf_kv_pool_new: NULL argument");
    *out = NULL;
    if (!m) return rf__err(RF_ERR_INVALID_ARG, "rf_kv_pool_new: NULL model");
    return rf__kv_pool_make(m, rf__kv_rf_type(kv_type), n_positions, 0, out);
}

/* Take a page: its index in p->pages, or -1 when the budget is spent or malloc fails. */
static int32_t rf__kv_page_take(rf_kv_pool *p) {
    int32_t id = -1;
    rf__kv_lock(p);
    if (p->n_free > 0) {
        id = p->free_list[--p->n_free];
    } else if (p->n_alloc < p->n_pages && (p->pages[p->n_alloc] = RF__NEW(uint8_t, p->page_bytes)) != NULL) {
        id = p->n_alloc++;
    }
    rf__kv_unlock(p);
    return id;
}

static void rf__kv_page_give(rf_kv_pool *p, int32_t id) {
    rf__kv_lock(p);
    p->free_list[p->n_free++] = id;
    rf__kv_unlock(p);
}

RF_API rf_kv_pool_stats rf_kv_pool_stats_of(rf_kv_pool *p) {
    rf_kv_pool_stats st;
    memset(&st, 0, sizeof st);
    if (!p) return st;
    rf__kv_lock(p);
    st.page_positions = RF_KV_PAGE;
    st.page_bytes = (int64_t)p->page_bytes;
    st.pages_total = p->n_pages;
    st.pages_allocated = p->n_alloc;
    st.pages_used = p->n_alloc - p->n_free;
    rf__kv_unlock(p);
    return st;
}
