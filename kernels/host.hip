/* The host API: the device and its stream, arenas, staged uploads, and one launcher per op.
   Every launcher sizes its grid from the device's properties (wave width, CU count), checks the
   launch, and on failure leaves "what: runtime message" in the device's error string. */

struct rf_hip_dev {
    int device;
    int mma_kind; /* rf_hip_mma_kind once asked; -2 before */
    int pdl;      /* rf_launch may overlap a kernel with the one before (sm_90+, RF_GPU_NO_PDL unset) */
    hipStream_t stream;
    hipDeviceProp_t prop;
    void *staging[2];      /* pinned, allocated on the first upload */
    hipEvent_t staged[2];  /* the copy out of staging[i] is done */
    size_t staging_bytes;
    char err[512];
    rf_hip_dev() : device(0), mma_kind(-2), pdl(0), stream(0), staging_bytes(0) {
        staging[0] = staging[1] = 0;
        staged[0] = staged[1] = 0;
        err[0] = 0;
        memset(&prop, 0, sizeof prop);
    }
    rf_hip_dev(const rf_hip_dev &) = delete; /* owns a stream and pinned memory */
    rf_hip_dev &operator=(const rf_hip_dev &) = delete;
};

struct rf_hip_buf {
    rf_hip_dev *dev;
    uint8_t *base;
    size_t size, used;
    rf_hip_buf() : dev(0), base(0), size(0), used(0) {}
    rf_hip_buf(const rf_hip_buf &) = delete; /* owns one device allocation */
    rf_hip_buf &operator=(const rf_hip_buf &) = delete;
};

static int rf_hip_fail(rf_hip_dev *d, hipError_t e, const char *what) {
    snprintf(d->err, sizeof d->err, "%s: %s (error %d)", what, hipGetErrorString(e), (int)e);
    return e == hipSuccess ? -1 : (int)e;
}
#define RF_HIP_TRY(d, call, what) \
    do { \
        hipError_t rf_e_ = (call); \
        if (rf_e_ != hipSuccess) return rf_hip_fail((d), rf_e_, (what)); \
    } while (0)
#define RF_HIP_LAUNCHED(d, what) RF_HIP_TRY((d), hipGetLastError(), (what))

/* Launches kernel k on the device's stream, allowed to start while the kernel before it still
   runs where the device can (d->pdl): k must follow RF_GRID_WAIT's rule (kernels/port.hip). The
   decode step's chain of small launches is where this pays: a GEMV loads its first weights, and
   the next kernel's blocks are resident, while the previous kernel finishes. Errors are left for
   RF_HIP_LAUNCHED, as a <<<>>> launch leaves them. */
template <typename... P, typename... A>
static void rf_launch(const rf_hip_dev *d, void (*k)(P...), dim3 grid, dim3 block, size_t lds, A... a) {
#if RF_HIP_AMD
    k<<<grid, block, lds, d->stream>>>(a...);
#else
    cudaLaunchAttribute at[1] = {};
    cudaLaunchConfig_t c = {};
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    c.gridDim = grid, c.blockDim = block, c.dynamicSmemBytes = lds, c.stream = d->stream;
    c.attrs = at, c.numAttrs = d->pdl ? 1 : 0;
    (void)cudaLaunchKernelEx(&c, k, (P)a...);
#endif
}

/* Threads per block: whole waves, RF_BLOCK_THREADS in all (256 / 64 = 4 waves on CDNA). */
static int rf_hip_threads(const rf_hip_dev *d) {
    int w = d->prop.warpSize > 0 ? d->prop.warpSize : 32;
    return RF_BLOCK_THREADS / w * w;
}
/* Blocks for a grid-stride loop over n items: enough to fill every CU a few times, no more. */
static unsigned rf_hip_blocks(const rf_hip_dev *d, int64_t n) {
    int64_t b = (n + rf_hip_threads(d) - 1) / rf_hip_threads(d), cap = 8 * (int64_t)(d->prop.multiProcessorCount > 0 ? d->prop.multiProcessorCount : 1);
    return (unsigned)(b < 1 ? 1 : b > cap ? cap : b);
}

extern "C" int rf_hip_device_count(void) {
    int n = 0;
    if (hipGetDeviceCount(&n) != hipSuccess) {
        (void)hipGetLastError();
        return 0;
    }
    return n;
}

extern "C" int rf_hip_open(int device, rf_hip_dev **out, char *err, size_t err_len) {
    rf_hip_dev *d = new (std::nothrow) rf_hip_dev();
    hipError_t e;
    int n = 0;
    *out = 0;
    if (!d) {
        if (err && err_len) snprintf(err, err_len, "out of host memory");
        return (int)hipErrorOutOfMemory;
    }
    d->device = device;
    e = hipGetDeviceCount(&n);
    if (e == hipSuccess && (device < 0 || device >= n)) e = hipErrorInvalidValue;
    if (e == hipSuccess) e = hipSetDevice(device);
    if (e == hipSuccess) e = hipGetDeviceProperties(&d->prop, device);
    if (e == hipSuccess) e = hipStreamCreateWithFlags(&d->stream, hipStreamNonBlocking);
    d->pdl = !RF_HIP_AMD && d->prop.major >= 9 && !getenv("RF_GPU_NO_PDL"); /* for measuring what the overlap buys */
    if (e != hipSuccess) {
        if (err && err_len)
            snprintf(err, err_len, "GPU %d of %d: %s", device, n, hipGetErrorString(e));
        (void)hipGetLastError();
        delete d;
        return (int)e;
    }
    *out = d;
    return 0;
}

extern "C" void rf_hip_close(rf_hip_dev *d) {
    if (!d) return;
    (void)hipSetDevice(d->device);
    if (d->stream) (void)hipStreamSynchronize(d->stream);
    for (int i = 0; i < 2; i++) {
        if (d->staged[i]) (void)hipEventDestroy(d->staged[i]);
        if (d->staging[i]) (void)hipHostFree(d->staging[i]);
    }
    if (d->stream) (void)hipStreamDestroy(d->stream);
    delete d;
}

extern "C" const char *rf_hip_error(const rf_hip_dev *d) { return d ? d->err : "no device"; }

extern "C" void rf_hip_get_info(const rf_hip_dev *d, rf_hip_info *o) {
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", d->prop.name);
#if RF_HIP_AMD
    snprintf(o->arch, sizeof o->arch, "%s", d->prop.gcnArchName);
    o->matrix_cores = !strncmp(o->arch, "gfx908", 6) || !strncmp(o->arch, "gfx90a", 6) ||
                      !strncmp(o->arch, "gfx94", 5) || !strncmp(o->arch, "gfx95", 5) || !strncmp(o->arch, "gfx11", 5) ||
                      !strncmp(o->arch, "gfx12", 5);
#else
    snprintf(o->arch, sizeof o->arch, "sm_%d%d", d->prop.major, d->prop.minor);
    o->matrix_cores = d->prop.major >= 7;
#endif
    o->wave = d->prop.warpSize;
    o->n_cu = d->prop.multiProcessorCount;
    o->shared_per_block = d->prop.sharedMemPerBlock;
    o->total_mem = d->prop.totalGlobalMem;
    (void)hipSetDevice(d->device);
    if (hipMemGetInfo(&o->free_mem, &o->total_mem) != hipSuccess) (void)hipGetLastError();
}

extern "C" int rf_hip_buf_new(rf_hip_dev *d, size_t bytes, rf_hip_buf **out) {
    rf_hip_buf *b = new (std::nothrow) rf_hip_buf();
    hipError_t e;
    *out = 0;
    if (!b) return rf_hip_fail(d, hipErrorOutOfMemory, "rf_hip_buf_new");
    b->dev = d;
    b->size = bytes;
    (void)hipSetDevice(d->device);
    e = hipMalloc((void **)&b->base, bytes ? bytes : 1);
    if (e != hipSuccess) {
        char what[96];
        snprintf(what, sizeof what, "allocating %.1f MB on the GPU", (double)bytes / 1e6);
        (void)hipGetLastError();
        delete b;
        return rf_hip_fail(d, e, what);
    }
    *out = b;
    return 0;
}

extern "C" void rf_hip_buf_free(rf_hip_buf *b) {
    if (!b) return;
    (void)hipSetDevice(b->dev->device);
    (void)hipFree(b->base);
    delete b;
}

extern "C" void *rf_hip_buf_alloc(rf_hip_buf *b, size_t bytes, size_t align) {
    size_t at;
    if (align < 1) align = 1;
    at = (b->used + align - 1) / align * align;
    if (at > b->size || bytes > b->size - at) return 0;
    b->used = at + bytes;
    return b->base + at;
}
extern "C" size_t rf_hip_buf_used(const rf_hip_buf *b) { return b ? b->used : 0; }

/* Two pinned buffers of 16 MB: the host fills one while the DMA engine drains the other. */
extern "C" int rf_hip_upload(rf_hip_dev *d, void *dst, const void *src, size_t n) {
    const size_t chunk = (size_t)16 << 20;
    size_t off = 0;
    int i = 0;
    if (!d->staging[0]) {
        for (int k = 0; k < 2; k++) {
            RF_HIP_TRY(d, RF_HIP_HOST_ALLOC(&d->staging[k], chunk), "allocating pinned staging memory");
            RF_HIP_TRY(d, hipEventCreateWithFlags(&d->staged[k], hipEventDisableTiming), "creating an event");
            RF_HIP_TRY(d, hipEventRecord(d->staged[k], d->stream), "recording an event");
        }
        d->staging_bytes = chunk;
    }
    for (; off < n; off += chunk, i ^= 1) {
        size_t len = n - off < chunk ? n - off : chunk;
        RF_HIP_TRY(d, hipEventSynchronize(d->staged[i]), "waiting for a staged copy");
        memcpy(d->staging[i], (const uint8_t *)src + off, len);
        RF_HIP_TRY(d, hipMemcpyAsync((uint8_t *)dst + off, d->staging[i], len, hipMemcpyHostToDevice, d->stream),
                   "copying weights to the GPU");
        RF_HIP_TRY(d, hipEventRecord(d->staged[i], d->stream), "recording an event");
    }
    RF_HIP_TRY(d, hipStreamSynchronize(d->stream), "uploading to the GPU");
    return 0;
}

extern "C" int rf_hip_upload_async(rf_hip_dev *d, void *dst, const void *src, size_t n) {
    RF_HIP_TRY(d, hipMemcpyAsync(dst, src, n, hipMemcpyHostToDevice, d->stream), "copying to the GPU");
    return 0;
}

extern "C" int rf_hip_download(rf_hip_dev *d, void *dst, const void *src, size_t n) {
    RF_HIP_TRY(d, hipMemcpyAsync(dst, src, n, hipMemcpyDeviceToHost, d->stream), "copying from the GPU");
    RF_HIP_TRY(d, hipStreamSynchronize(d->stream), "running on the GPU");
    return 0;
}

extern "C" void *rf_hip_host_alloc(rf_hip_dev *d, size_t bytes) {
    void *p = 0;
    hipError_t e;
    (void)hipSetDevice(d->device);
    if ((e = RF_HIP_HOST_ALLOC(&p, bytes ? bytes : 1)) != hipSuccess) {
        (void)hipGetLastError();
        (void)rf_hip_fail(d, e, "allocating pinned host memory");
        return 0;
    }
    return p;
}

extern "C" void rf_hip_host_free(rf_hip_dev *d, void *p) {
    if (!p) return;
    if (d) (void)hipSetDevice(d->device);
    (void)hipHostFree(p);
}

extern "C" int rf_hip_upload_pinned(rf_hip_dev *d, void *dst, const void *src, size_t n) {
    RF_HIP_TRY(d, hipMemcpyAsync(dst, src, n, hipMemcpyHostToDevice, d->stream), "copying to the GPU");
    RF_HIP_TRY(d, hipStreamSynchronize(d->stream), "copying to the GPU");
    return 0;
}

extern "C" int rf_hip_memset(rf_hip_dev *d, void *dst, int v, size_t n) {
    RF_HIP_TRY(d, hipMemsetAsync(dst, v, n, d->stream), "clearing GPU memory");
    return 0;
}

extern "C" int rf_hip_sync(rf_hip_dev *d) {
    RF_HIP_TRY(d, hipStreamSynchronize(d->stream), "running on the GPU");
    return 0;
}

extern "C" int rf_hip_gemv(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t ne1, uint64_t row_bytes,
                           const float *x, int64_t ldx, float *y, int64_t ldy, int64_t n_tok, const int32_t *expert,
                           uint64_t expert_stride) {
    const int th = rf_hip_threads(d), rows_per_block = th / d->prop.warpSize;
    const dim3 g1((unsigned)((ne1 + rows_per_block - 1) / rows_per_block), 1),
        gn((unsigned)((ne1 + rows_per_block - 1) / rows_per_block), (unsigned)((n_tok + RF_GEMV_TILE - 1) / RF_GEMV_TILE));
    const uint8_t *wb = (const uint8_t *)w;
    if (n_tok < 1 || ne1 < 1) return 0;
#define RF_GEMV_CASE(T) \
    case T: rf_gemv_launch<T>(g1, gn, th, d->stream, wb, ne0, ne1, row_bytes, x, ldx, y, ldy, n_tok, expert, expert_stride); break
    switch (type) {
        RF_GEMV_CASE(RF_T_F32); RF_GEMV_CASE(RF_T_F16); RF_GEMV_CASE(RF_T_BF16);
        RF_GEMV_CASE(RF_T_Q4_0); RF_GEMV_CASE(RF_T_Q4_1); RF_GEMV_CASE(RF_T_Q5_0); RF_GEMV_CASE(RF_T_Q5_1);
        RF_GEMV_CASE(RF_T_Q8_0); RF_GEMV_CASE(RF_T_Q2_K); RF_GEMV_CASE(RF_T_Q3_K); RF_GEMV_CASE(RF_T_Q4_K);
        RF_GEMV_CASE(RF_T_Q5_K); RF_GEMV_CASE(RF_T_Q6_K); RF_GEMV_CASE(RF_T_IQ4_NL); RF_GEMV_CASE(RF_T_IQ4_XS);
        RF_GEMV_CASE(RF_T_MXFP4);
    default:
        snprintf(d->err, sizeof d->err, "rf_hip_gemv: tensor type %d has no GPU kernel", type);
        return -1;
    }
#undef RF_GEMV_CASE
    RF_HIP_LAUNCHED(d, "launching gemv");
    return 0;
}

extern "C" int rf_hip_quant_act(rf_hip_dev *d, int act_type, const float *x, int64_t ldx, float *xq, int64_t n, int64_t rows) {
    const int kq = act_type == 15; /* q8_K */
    const int bs = kq ? 256 : 32;
    if (act_type != 8 && act_type != 9 && !kq) {
        snprintf(d->err, sizeof d->err, "rf_hip_quant_act: activation type %d", act_type);
        return -1;
    }
    rf_quant_act_kernel<<<rf_hip_blocks(d, rows * (n / bs)), rf_hip_threads(d), 0, d->stream>>>(bs, kq, x, ldx, xq, n, rows);
    RF_HIP_LAUNCHED(d, "launching quant_act");
    return 0;
}

extern "C" int rf_hip_rmsnorm(rf_hip_dev *d, float *out, const float *x, const float *w, int64_t n, int64_t rows, float eps) {
    if (rows < 1) return 0;
    rf_launch(d, rf_rmsnorm_kernel, dim3((unsigned)rows), dim3(rf_hip_threads(d)), 0, out, x, w, n, eps);
    RF_HIP_LAUNCHED(d, "launching rmsnorm");
    return 0;
}

extern "C" int rf_hip_rope(rf_hip_dev *d, float *x, int64_t ld, int64_t n_tok, int64_t n_heads, int64_t hd, int64_t n_rot,
                           int32_t pos0, const int32_t *pos_at, float base, float freq_scale, const float *freq_factors,
                           int neox) {
    if (n_tok < 1) return 0;
    rf_rope_kernel<<<(unsigned)n_tok, rf_hip_threads(d), 0, d->stream>>>(x, ld, n_heads, hd, n_rot, pos0, pos_at, base, freq_scale,
                                                                         freq_factors, neox);
    RF_HIP_LAUNCHED(d, "launching rope");
    return 0;
}

extern "C" int rf_hip_rope_kv(rf_hip_dev *d, float *qkv, int64_t ld, int64_t n_tok, int64_t nh, int64_t nkv, int64_t hd,
                              int64_t n_rot, int32_t pos0, const int32_t *pos_at, float base, float freq_scale,
                              const float *freq_factors, int neox, uint16_t *k_cache, uint16_t *v_cache) {
    if (n_tok < 1) return 0;
    rf_rope_kv_kernel<<<(unsigned)n_tok, rf_hip_threads(d), 0, d->stream>>>(
        qkv, ld, nh, nkv, hd, n_rot, pos0, pos_at, base, freq_scale, freq_factors, neox, k_cache, v_cache);
    RF_HIP_LAUNCHED(d, "launching rope_kv");
    return 0;
}

extern "C" int rf_hip_kv_store(rf_hip_dev *d, uint16_t *k_cache, uint16_t *v_cache, const float *k, const float *v,
                               int64_t ld, int64_t kv_dim, int32_t pos0, const int32_t *pos_at, int64_t n_tok) {
    rf_kv_store_kernel<<<rf_hip_blocks(d, n_tok * kv_dim), rf_hip_threads(d), 0, d->stream>>>(k_cache, v_cache, k, v, ld,
                                                                                                kv_dim, pos0, pos_at, n_tok);
    RF_HIP_LAUNCHED(d, "launching kv_store");
    return 0;
}

/* Both attention entry points: the checks, then one launch (knew != NULL: the fused decode step). */
static int rf_attention_go(rf_hip_dev *d, const char *what, float *out, const float *q, int64_t ldq, uint16_t *k_cache,
                           uint16_t *v_cache, int64_t n_tok, int64_t nh, int64_t nkv, int64_t hd, int32_t pos0,
                           const int32_t *pos_at, int64_t window, float scale, void *act, const float *knew, rf_rope_arg ro) {
    const int th = rf_hip_threads(d);
    const size_t shared = sizeof(float) * (size_t)rf_attention_lds(hd, th);
    if (hd > RF_HEAD_DIM_MAX || nkv < 1 || nh % nkv || (act && hd % 32) || (knew && (ro.n_rot > hd || ro.n_rot % 2))) {
        snprintf(d->err, sizeof d->err, "%s: head_dim %lld (at most %d%s) or %lld heads over %lld kv heads%s", what, (long long)hd,
                 RF_HEAD_DIM_MAX, act ? ", whole 32-blocks for q8 output" : "", (long long)nh, (long long)nkv,
                 knew ? " or rotary dims past the head" : "");
        return -1;
    }
    if (shared > d->prop.sharedMemPerBlock) {
        snprintf(d->err, sizeof d->err, "%s: needs %zu bytes of LDS, the device has %zu", what, shared,
                 (size_t)d->prop.sharedMemPerBlock);
        return -1;
    }
    if (n_tok < 1) return 0;
    rf_launch(d, rf_attention_kernel, dim3((unsigned)nh, (unsigned)n_tok), dim3(th), shared, out, q, ldq, k_cache, v_cache, nh, nkv,
              hd, pos0, pos_at, window, scale, (uint8_t *)act, knew, ro);
    RF_HIP_LAUNCHED(d, what);
    return 0;
}

extern "C" int rf_hip_attention(rf_hip_dev *d, float *out, const float *q, int64_t ldq, const uint16_t *k_cache,
                                const uint16_t *v_cache, int64_t n_tok, int64_t nh, int64_t nkv, int64_t hd, int32_t pos0,
                                const int32_t *pos_at, int64_t window, float scale, void *act) {
    const rf_rope_arg none = {0, 0.0f, 0.0f, NULL, 0};
    /* the cache is only read without knew */
    return rf_attention_go(d, "rf_hip_attention", out, q, ldq, (uint16_t *)k_cache, (uint16_t *)v_cache, n_tok, nh, nkv, hd, pos0,
                           pos_at, window, scale, act, NULL, none);
}

extern "C" int rf_hip_attention_rope(rf_hip_dev *d, float *out, const float *qkv, uint16_t *k_cache, uint16_t *v_cache, int64_t nh,
                                     int64_t nkv, int64_t hd, int64_t n_rot, int32_t pos0, const int32_t *pos_at, float base,
                                     float freq_scale, const float *freq_factors, int neox, int64_t window, float scale, void *act) {
    const rf_rope_arg ro = {n_rot, base, freq_scale, freq_factors, neox};
    return rf_attention_go(d, "rf_hip_attention_rope", out, qkv, nh * hd + 2 * nkv * hd, k_cache, v_cache, 1, nh, nkv, hd, pos0,
                           pos_at, window, scale, act, qkv + nh * hd, ro);
}

extern "C" int rf_hip_glu(rf_hip_dev *d, float *h, int64_t ldh, const float *g, int64_t ldg, const float *u, int64_t ldu,
                          int64_t n, int64_t rows, int gelu) {
    rf_launch(d, rf_glu_kernel, dim3(rf_hip_blocks(d, n * rows)), dim3(rf_hip_threads(d)), 0, h, ldh, g, ldg, u, ldu, n, rows, gelu);
    RF_HIP_LAUNCHED(d, "launching glu");
    return 0;
}

extern "C" int rf_hip_add(rf_hip_dev *d, float *y, int64_t ldy, const float *x, int64_t ldx, int64_t n, int64_t rows,
                          float alpha, const float *weight, int64_t wstride, int64_t widx) {
    rf_launch(d, rf_add_kernel, dim3(rf_hip_blocks(d, n * rows)), dim3(rf_hip_threads(d)), 0, y, ldy, x, ldx, n, rows, alpha, weight,
              wstride, widx);
    RF_HIP_LAUNCHED(d, "launching add");
    return 0;
}

extern "C" int rf_hip_embed(rf_hip_dev *d, float *out, int64_t ld, int type, const void *w, int64_t ne0,
                            uint64_t row_bytes, const int32_t *ids, int64_t n_tok, float scale) {
    const unsigned nb = rf_hip_blocks(d, n_tok * rf_n_chunks(ne0));
    const int th = rf_hip_threads(d);
    const uint8_t *wb = (const uint8_t *)w;
#define RF_EMBED_CASE(T) \
    case T: rf_embed_kernel<T><<<nb, th, 0, d->stream>>>(out, ld, wb, ne0, row_bytes, ids, n_tok, scale); break
    switch (type) {
        RF_EMBED_CASE(RF_T_F32); RF_EMBED_CASE(RF_T_F16); RF_EMBED_CASE(RF_T_BF16);
        RF_EMBED_CASE(RF_T_Q4_0); RF_EMBED_CASE(RF_T_Q4_1); RF_EMBED_CASE(RF_T_Q5_0); RF_EMBED_CASE(RF_T_Q5_1);
        RF_EMBED_CASE(RF_T_Q8_0); RF_EMBED_CASE(RF_T_Q2_K); RF_EMBED_CASE(RF_T_Q3_K); RF_EMBED_CASE(RF_T_Q4_K);
        RF_EMBED_CASE(RF_T_Q5_K); RF_EMBED_CASE(RF_T_Q6_K); RF_EMBED_CASE(RF_T_IQ4_NL); RF_EMBED_CASE(RF_T_IQ4_XS);
        RF_EMBED_CASE(RF_T_MXFP4);
    default:
        snprintf(d->err, sizeof d->err, "rf_hip_embed: tensor type %d has no GPU kernel", type);
        return -1;
    }
#undef RF_EMBED_CASE
    RF_HIP_LAUNCHED(d, "launching embed");
    return 0;
}

extern "C" int rf_hip_softmax(rf_hip_dev *d, float *x, int64_t ld, int64_t n, int64_t rows) {
    rf_softmax_kernel<<<rf_hip_blocks(d, rows), rf_hip_threads(d), 0, d->stream>>>(x, ld, n, rows);
    RF_HIP_LAUNCHED(d, "launching softmax");
    return 0;
}

extern "C" int rf_hip_moe_route(rf_hip_dev *d, float *logits, int64_t ld, int64_t n_expert, int64_t k, int64_t rows,
                                int32_t *ids, float *weights) {
    rf_moe_route_kernel<<<rf_hip_blocks(d, rows), rf_hip_threads(d), 0, d->stream>>>(logits, ld, n_expert, k, rows, ids,
                                                                                   weights);
    RF_HIP_LAUNCHED(d, "launching moe_route");
    return 0;
}

extern "C" int rf_hip_argmax(rf_hip_dev *d, const float *x, int64_t n, int32_t *out) {
    rf_launch(d, rf_argmax_kernel, dim3(1), dim3(RF_BLOCK_THREADS), 0, x, n, out);
    RF_HIP_LAUNCHED(d, "launching argmax");
    return 0;
}

extern "C" int rf_hip_sample(rf_hip_dev *d, const float *x, int64_t n, int32_t top_k, float top_p, float min_p,
                             float temperature, double u, int32_t *out) {
    /* As many whole waves as a block may hold, up to the kernel's bound: one block, so its
       memory parallelism is all there is. */
    const int w = d->prop.warpSize > 0 ? d->prop.warpSize : 32;
    int th = d->prop.maxThreadsPerBlock > 0 ? d->prop.maxThreadsPerBlock : RF_BLOCK_THREADS;
    if (th > RF_SAMPLE_THREADS_MAX) th = RF_SAMPLE_THREADS_MAX;
    th = th / w * w;
    if (n < 1 || n > INT32_MAX || (temperature > 0.0f && (top_k < 1 || top_k > RF_HIP_SAMPLE_K_MAX)) || !(u >= 0.0 && u < 1.0)) {
        snprintf(d->err, sizeof d->err, "rf_hip_sample: n %lld, top_k %d (1..%d), u %g", (long long)n, (int)top_k,
                 RF_HIP_SAMPLE_K_MAX, u);
        return -1;
    }
    rf_sample_kernel<<<1, th, 0, d->stream>>>(x, n, top_k, top_p, min_p, temperature, u, out);
    RF_HIP_LAUNCHED(d, "launching sample");
    return 0;
}

/* --- the int8 decode path: activation quantization, weight packing, GEMV --- */

extern "C" int rf_hip_q8_act_type(int type) {
    switch (type) {
    case RF_T_Q4_0: case RF_T_Q8_0: return 0;
    case RF_T_Q4_K: case RF_T_Q6_K: return 1;
    default: return -1;
    }
}

extern "C" size_t rf_hip_act_q8_bytes(int64_t n, int64_t rows) { return (size_t)(rf_act_q8_stride(n) * rows); }

extern "C" int rf_hip_act_q8(rf_hip_dev *d, int k_quant, const float *x, int64_t ldx, const float *norm, float eps, int64_t n,
                             int64_t rows, void *act) {
    if (n < 1 || n % (k_quant ? 256 : 32)) {
        snprintf(d->err, sizeof d->err, "rf_hip_act_q8: rows of %lld are not whole %d-blocks", (long long)n, k_quant ? 256 : 32);
        return -1;
    }
    if (rows < 1) return 0;
    /* RF_BLOCK_THREADS = 256 threads on any wave width: one q8_K super-block per round */
    const dim3 grid((unsigned)((n + RF_BLOCK_THREADS - 1) / RF_BLOCK_THREADS), (unsigned)rows);
    rf_launch(d, rf_act_q8_kernel, grid, dim3(RF_BLOCK_THREADS), 0, k_quant, x, ldx, norm, eps, (const float *)NULL, (int64_t)0, 0, n,
              (uint8_t *)act);
    RF_HIP_LAUNCHED(d, "launching act_q8");
    return 0;
}

extern "C" int rf_hip_glu_q8(rf_hip_dev *d, int k_quant, const float *g, int64_t ldg, const float *u, int64_t ldu, int64_t n,
                             int64_t rows, int gelu, void *act) {
    if (n < 1 || n % (k_quant ? 256 : 32)) {
        snprintf(d->err, sizeof d->err, "rf_hip_glu_q8: rows of %lld are not whole %d-blocks", (long long)n, k_quant ? 256 : 32);
        return -1;
    }
    if (rows < 1) return 0;
    const dim3 grid((unsigned)((n + RF_BLOCK_THREADS - 1) / RF_BLOCK_THREADS), (unsigned)rows);
    rf_launch(d, rf_act_q8_kernel, grid, dim3(RF_BLOCK_THREADS), 0, k_quant, g, ldg, (const float *)NULL, 0.0f, u, ldu, gelu ? 2 : 1, n,
              (uint8_t *)act);
    RF_HIP_LAUNCHED(d, "launching glu_q8");
    return 0;
}

/* The fused decode GEMVs' shapes (gemv_glu.hip, gemv_norm.hip: 32 outputs a block, q8_0
   activations): q4_0 / q8_0 weights, ne1 outputs and ne0 inputs in whole 32-blocks. */
static int rf_gemv_q8_fused_ok(rf_hip_dev *d, const char *what, int type, int64_t ne0, int64_t ne1) {
    if (rf_hip_q8_act_type(type) == 0 && ne1 >= 32 && ne1 % 32 == 0 && ne0 >= 32 && ne0 % 32 == 0) return 1;
    snprintf(d->err, sizeof d->err, "%s: type %d with %lld outputs of %lld inputs (q4_0 / q8_0, whole 32-blocks)", what, type,
             (long long)ne1, (long long)ne0);
    return 0;
}

extern "C" int rf_hip_gemv_q8_glu(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t nff, const void *act, const float *ss,
                                  float eps, int gelu, void *act_out) {
    const uint8_t *wb = (const uint8_t *)w, *ab = (const uint8_t *)act;
    if (!rf_gemv_q8_fused_ok(d, "rf_hip_gemv_q8_glu", type, ne0, nff)) return -1;
    const unsigned grid = (unsigned)(nff / RF_GLU_ROWS), th = (unsigned)(RF_GLU_WAVES * d->prop.warpSize);
    rf_launch(d, type == RF_T_Q4_0 ? rf_gemv_q8_glu_kernel<RF_T_Q4_0> : rf_gemv_q8_glu_kernel<RF_T_Q8_0>, dim3(grid), dim3(th), 0, wb,
              ne0, nff, ab, ss, eps, gelu, (uint8_t *)act_out);
    RF_HIP_LAUNCHED(d, "launching gemv_q8_glu");
    return 0;
}

extern "C" int rf_hip_gemv_q8_norm(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t ne1, const void *act, float *x,
                                   const float *norm, void *act_out, float *ss) {
    const uint8_t *wb = (const uint8_t *)w, *ab = (const uint8_t *)act;
    if (!rf_gemv_q8_fused_ok(d, "rf_hip_gemv_q8_norm", type, ne0, ne1)) return -1;
    const unsigned grid = (unsigned)(ne1 / RF_NORM_ROWS), th = (unsigned)(RF_NORM_WAVES * d->prop.warpSize);
    rf_launch(d, type == RF_T_Q4_0 ? rf_gemv_q8_norm_kernel<RF_T_Q4_0, RF_NORM_WAVES, RF_NORM_U>
                                   : rf_gemv_q8_norm_kernel<RF_T_Q8_0, RF_NORM_WAVES, RF_NORM_U>,
              dim3(grid), dim3(th), 0, wb, ne0, ne1, ab, x, norm, (uint8_t *)act_out, ss);
    RF_HIP_LAUNCHED(d, "launching gemv_q8_norm");
    return 0;
}

/* GGUF blocks -> the layouts of kernels/gemv_q8.hip (the same bytes, regrouped). */
extern "C" int rf_hip_pack(int type, const void *src, int64_t ne0, int64_t ne1, void *dst) {
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *o = (uint8_t *)dst;
    if (rf_hip_q8_act_type(type) < 0 || ne0 < 1 || ne1 < 1 || ne0 % (type == RF_T_Q4_K || type == RF_T_Q6_K ? 256 : 32)) return -1;
    if (type == RF_T_Q4_K) {
        memcpy(o, s, (size_t)(ne0 / 256 * 144 * ne1));
        return 0;
    }
    const int64_t nbk = type == RF_T_Q6_K ? ne0 / 256 * ne1 : ne0 / 32 * ne1;
    for (int64_t b = 0; b < nbk; b++) {
        if (type == RF_T_Q4_0) { /* d[2] qs[16] */
            memcpy(o + 16 * b, s + 18 * b + 2, 16);
            memcpy(o + 16 * nbk + 2 * b, s + 18 * b, 2);
        } else if (type == RF_T_Q8_0) { /* d[2] qs[32] */
            memcpy(o + 32 * b, s + 34 * b + 2, 32);
            memcpy(o + 32 * nbk + 2 * b, s + 34 * b, 2);
        } else { /* q6_K: ql[128] qh[64] scales[16] d[2] */
            memcpy(o + 192 * b, s + 210 * b, 192);
            memcpy(o + 192 * nbk + 16 * b, s + 210 * b + 192, 16);
            memcpy(o + 208 * nbk + 2 * b, s + 210 * b + 208, 2);
        }
    }
    return 0;
}

template <int T, int NT, int U, int R>
static void rf_gemv_q8_go(rf_hip_dev *d, const uint8_t *w, int64_t ne0, int64_t ne1, const uint8_t *act, int64_t n_tok, float *y,
                          int64_t ldy, int accumulate, const float *ss, float eps) {
    const int th = rf_hip_threads(d);
    const int64_t rows = (int64_t)(th / d->prop.warpSize) * R;
    const dim3 grid((unsigned)((ne1 + rows - 1) / rows), (unsigned)((n_tok + NT - 1) / NT));
    rf_launch(d, rf_gemv_q8_kernel<T, NT, U, R>, grid, dim3(th), 0, w, ne0, ne1, act, n_tok, y, ldy, accumulate, ss, eps);
}

/* The decode shapes (kernels/gemv_q8.hip), chosen by whole-model tg128 on an H200 (the probe
   bench/gpu_gemv_shapes.cpp times one matrix alone, and its best shapes were not the model's:
   q4_0 at 4 items and 2 rows everywhere measured 438 against 477 t/s on 7B q4_0). q4_0 takes two
   rows per wave where that still gives every CU 8 blocks (on 132 SMs: the 22016-row gate+up, not
   the 12288-row QKV), else one for twice the waves; q8_0 2 items and one row; the K-quants 4
   items and 2 rows below 8 rows per wave slot of the GPU (the 4096-row wo and down: 376 -> 381
   t/s on 7B q4_k_m), else 1 item and 2 rows, for more waves. */
template <int T>
static void rf_gemv_q8_launch(rf_hip_dev *d, const uint8_t *w, int64_t ne0, int64_t ne1, const uint8_t *act, int64_t n_tok,
                              float *y, int64_t ldy, int accumulate, const float *ss, float eps) {
    const int64_t waves = rf_hip_threads(d) / d->prop.warpSize;
    if (n_tok > 1) rf_gemv_q8_go<T, RF_GEMV_TILE, 1, RF_GEMV_PREFILL_ROWS>(d, w, ne0, ne1, act, n_tok, y, ldy, accumulate, ss, eps);
    else if constexpr (T == RF_T_Q4_0) { /* 18-byte items */
        if (ne1 >= 2 * waves * 8 * d->prop.multiProcessorCount)
            rf_gemv_q8_go<T, 1, 2, 2>(d, w, ne0, ne1, act, n_tok, y, ldy, accumulate, ss, eps);
        else rf_gemv_q8_go<T, 1, 4, 1>(d, w, ne0, ne1, act, n_tok, y, ldy, accumulate, ss, eps);
    } else if constexpr (T == RF_T_Q8_0) { /* 34-byte items */
        rf_gemv_q8_go<T, 1, 2, 1>(d, w, ne0, ne1, act, n_tok, y, ldy, accumulate, ss, eps);
    } else { /* the K-quants' 26-32-byte items */
        if (ne1 < 8 * waves * d->prop.multiProcessorCount)
            rf_gemv_q8_go<T, 1, 4, 2>(d, w, ne0, ne1, act, n_tok, y, ldy, accumulate, ss, eps);
        else rf_gemv_q8_go<T, 1, 1, 2>(d, w, ne0, ne1, act, n_tok, y, ldy, accumulate, ss, eps);
    }
}

extern "C" int rf_hip_gemv_q8(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t ne1, const void *act, float *y,
                              int64_t ldy, int64_t n_tok, int accumulate, const float *ss, float eps) {
    const uint8_t *wb = (const uint8_t *)w, *ab = (const uint8_t *)act;
    if (ss && (n_tok != 1 || rf_hip_q8_act_type(type) != 0)) {
        snprintf(d->err, sizeof d->err, "rf_hip_gemv_q8: sums of squares with %lld tokens of type %d (one, q8_0 activations)",
                 (long long)n_tok, type);
        return -1;
    }
    if (n_tok < 1 || ne1 < 1) return 0;
    switch (type) {
    case RF_T_Q4_0: rf_gemv_q8_launch<RF_T_Q4_0>(d, wb, ne0, ne1, ab, n_tok, y, ldy, accumulate, ss, eps); break;
    case RF_T_Q8_0: rf_gemv_q8_launch<RF_T_Q8_0>(d, wb, ne0, ne1, ab, n_tok, y, ldy, accumulate, ss, eps); break;
    case RF_T_Q4_K: rf_gemv_q8_launch<RF_T_Q4_K>(d, wb, ne0, ne1, ab, n_tok, y, ldy, accumulate, ss, eps); break;
    case RF_T_Q6_K: rf_gemv_q8_launch<RF_T_Q6_K>(d, wb, ne0, ne1, ab, n_tok, y, ldy, accumulate, ss, eps); break;
    default:
        snprintf(d->err, sizeof d->err, "rf_hip_gemv_q8: tensor type %d has no int8 kernel", type);
        return -1;
    }
    RF_HIP_LAUNCHED(d, "launching gemv_q8");
    return 0;
}

/* --- graphs: a decode step captured once, replayed per token --- */

struct rf_hip_graph {
    hipGraph_t graph;
    hipGraphExec_t exec;
};

extern "C" int rf_hip_capture_begin(rf_hip_dev *d) {
    RF_HIP_TRY(d, hipStreamBeginCapture(d->stream, hipStreamCaptureModeThreadLocal), "starting a graph capture");
    return 0;
}

extern "C" int rf_hip_capture_end(rf_hip_dev *d, rf_hip_graph **out) {
    rf_hip_graph *g = new (std::nothrow) rf_hip_graph();
    hipGraph_t graph = 0;
    hipError_t e = hipStreamEndCapture(d->stream, &graph);
    *out = 0;
    if (e != hipSuccess || !g) {
        if (graph) (void)hipGraphDestroy(graph);
        delete g;
        (void)hipGetLastError();
        return rf_hip_fail(d, e != hipSuccess ? e : hipErrorOutOfMemory, "capturing a graph");
    }
    g->graph = graph;
    e = RF_GRAPH_INSTANTIATE(&g->exec, graph);
    if (e != hipSuccess) {
        (void)hipGraphDestroy(graph);
        delete g;
        (void)hipGetLastError();
        return rf_hip_fail(d, e, "instantiating a graph");
    }
    *out = g;
    return 0;
}

extern "C" int rf_hip_graph_launch(rf_hip_dev *d, rf_hip_graph *g) {
    RF_HIP_TRY(d, hipGraphLaunch(g->exec, d->stream), "launching a graph");
    return 0;
}

extern "C" void rf_hip_graph_free(rf_hip_graph *g) {
    if (!g) return;
    (void)hipGraphExecDestroy(g->exec);
    (void)hipGraphDestroy(g->graph);
    delete g;
}

/* --- a streaming read: the bandwidth ceiling decode is measured against --- */

__global__ void rf_read_kernel(const int4 *p, int64_t n, int *sink) {
    int acc = 0;
    RF_GRID_STRIDE(i, n) {
        const int4 v = p[i];
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x7fffffff) *sink = acc; /* keeps the loads; practically never stores */
}

/* --- matrix cores --- */

extern "C" int rf_hip_mma_kind(rf_hip_dev *d) {
    int *k = 0, v = -1;
    if (d->mma_kind != -2) return d->mma_kind;
    RF_HIP_TRY(d, hipMalloc((void **)&k, sizeof(int)), "asking for the matrix-core kind");
    rf_mma_kind_kernel<<<1, 1, 0, d->stream>>>(k);
    hipError_t e = hipGetLastError();
    if (e == hipSuccess) e = hipMemcpyAsync(&v, k, sizeof(int), hipMemcpyDeviceToHost, d->stream);
    if (e == hipSuccess) e = hipStreamSynchronize(d->stream);
    (void)hipFree(k);
    if (e != hipSuccess) {
        (void)rf_hip_fail(d, e, "asking for the matrix-core kind");
        return -1;
    }
    return d->mma_kind = v;
}

/* The types rf_gemm_kernel is instantiated for: rf_hip_pack's four packed, and these in GGUF rows. */
#define RF_GEMM_GGUF_TYPES(X) \
    X(RF_T_F32) X(RF_T_F16) X(RF_T_BF16) X(RF_T_Q4_0) X(RF_T_Q4_1) X(RF_T_Q5_0) X(RF_T_Q5_1) X(RF_T_Q8_0) X(RF_T_Q2_K) \
    X(RF_T_Q3_K) X(RF_T_Q4_K) X(RF_T_Q5_K) X(RF_T_Q6_K) X(RF_T_IQ4_NL) X(RF_T_IQ4_XS) X(RF_T_MXFP4)

extern "C" int rf_hip_gemm_type(int type, int packed) {
    if (packed) return rf_hip_q8_act_type(type) >= 0;
#define RF_GEMM_CASE(t) if (type == t) return 1;
    RF_GEMM_GGUF_TYPES(RF_GEMM_CASE)
#undef RF_GEMM_CASE
    return 0;
}

extern "C" int rf_hip_gemm_input(rf_hip_dev *d, uint16_t *x16, const float *x, int64_t ldx, int64_t n, int64_t rows) {
    if (n % 4 || ldx % 4 || ((uintptr_t)x & 15) || ((uintptr_t)x16 & 15)) {
        snprintf(d->err, sizeof d->err, "rf_hip_gemm_input: rows of %lld (ld %lld) not in whole 16-byte pieces", (long long)n,
                 (long long)ldx);
        return -1;
    }
    if (rows < 1 || n < 1) return 0;
    rf_gemm_input_kernel<<<rf_hip_blocks(d, rows * n / 4), rf_hip_threads(d), 0, d->stream>>>(x16, x, ldx, n, rows);
    RF_HIP_LAUNCHED(d, "launching gemm input");
    return 0;
}

extern "C" int rf_hip_gemm(rf_hip_dev *d, int type, int packed, const void *w, uint64_t row_bytes, int64_t ne0, int64_t ne1,
                           const uint16_t *x16, int64_t ldx, float *y, int64_t ldy, int64_t n_tok, int accumulate) {
    const uint8_t *wb = (const uint8_t *)w;
#if RF_HIP_AMD
    const size_t lds_max = d->prop.sharedMemPerBlock;
#else
    const size_t lds_max = d->prop.sharedMemPerBlockOptin;
#endif
    if (n_tok < 1 || ne1 < 1) return 0;
    if (!rf_hip_gemm_type(type, packed) || ne0 < 32 || ne0 % 32 || ldx % 8 || ((uintptr_t)x16 & 15) ||
        ne1 > 65535 * (int64_t)RF_GEMM_BM) {
        snprintf(d->err, sizeof d->err, "rf_hip_gemm: no kernel for type %d (%s) with %lld columns, ldx %lld", type,
                 packed ? "packed" : "GGUF rows", (long long)ne0, (long long)ldx);
        return -1;
    }
    if (RF_GEMM_LDS > lds_max) {
        snprintf(d->err, sizeof d->err, "rf_hip_gemm: needs %zu bytes of LDS, the device has %zu", (size_t)RF_GEMM_LDS, lds_max);
        return -1;
    }
    const dim3 grid((unsigned)((n_tok + RF_GEMM_BN - 1) / RF_GEMM_BN), (unsigned)((ne1 + RF_GEMM_BM - 1) / RF_GEMM_BM));
    /* LDS past the static 48 KB is asked for per kernel */
#define RF_GEMM_GO(t, p)                                                                                                  \
    do {                                                                                                                  \
        (void)hipFuncSetAttribute((const void *)rf_gemm_kernel<t, p>, hipFuncAttributeMaxDynamicSharedMemorySize,         \
                                  (int)RF_GEMM_LDS);                                                                      \
        rf_gemm_kernel<t, p><<<grid, 256, RF_GEMM_LDS, d->stream>>>(wb, row_bytes, ne0, ne1, x16, ldx, n_tok, y, ldy, accumulate); \
    } while (0)
    if (packed) {
        switch (type) {
        case RF_T_Q4_0: RF_GEMM_GO(RF_T_Q4_0, 1); break;
        case RF_T_Q8_0: RF_GEMM_GO(RF_T_Q8_0, 1); break;
        case RF_T_Q4_K: RF_GEMM_GO(RF_T_Q4_K, 1); break;
        default: RF_GEMM_GO(RF_T_Q6_K, 1); break;
        }
    } else {
#define RF_GEMM_CASE(t) if (type == t) RF_GEMM_GO(t, 0);
        RF_GEMM_GGUF_TYPES(RF_GEMM_CASE)
#undef RF_GEMM_CASE
    }
#undef RF_GEMM_GO
    RF_HIP_LAUNCHED(d, "launching gemm");
    return 0;
}

extern "C" int rf_hip_flash_attention(rf_hip_dev *d, float *out, const float *q, int64_t ldq, const uint16_t *k_cache,
                                      const uint16_t *v_cache, int64_t n_tok, int64_t nh, int64_t nkv, int64_t hd, int32_t pos0,
                                      int64_t window, float scale) {
    if ((hd != 64 && hd != 128) || nkv < 1 || nh % nkv || ldq % 4 || ((uintptr_t)q & 15) || pos0 < 0) {
        snprintf(d->err, sizeof d->err, "rf_hip_flash_attention: head_dim %lld (64 or 128), %lld heads over %lld kv heads, ldq %lld",
                 (long long)hd, (long long)nh, (long long)nkv, (long long)ldq);
        return -1;
    }
    if (n_tok < 1) return 0;
    const dim3 grid((unsigned)nh, (unsigned)((n_tok + RF_FA_BQ - 1) / RF_FA_BQ));
    const int th = RF_FA_WAVES * d->prop.warpSize;
    if (hd == 64)
        rf_flash_kernel<64><<<grid, th, 0, d->stream>>>(out, q, ldq, k_cache, v_cache, nh, nkv, n_tok, pos0, window, scale);
    else
        rf_flash_kernel<128><<<grid, th, 0, d->stream>>>(out, q, ldq, k_cache, v_cache, nh, nkv, n_tok, pos0, window, scale);
    RF_HIP_LAUNCHED(d, "launching flash attention");
    return 0;
}

extern "C" int rf_hip_read_bandwidth(rf_hip_dev *d, size_t bytes, int reps, double *gb_per_s) {
    const int64_t n = (int64_t)(bytes / 16);
    const unsigned blocks = (unsigned)(4 * (d->prop.multiProcessorCount > 0 ? d->prop.multiProcessorCount : 1) *
                                       (d->prop.maxThreadsPerMultiProcessor > 0 ? d->prop.maxThreadsPerMultiProcessor / rf_hip_threads(d) : 4));
    rf_hip_buf *b = 0;
    double best = 0;
    int e;
    *gb_per_s = 0;
    if (n < 1 || reps < 1) return 0;
    if ((e = rf_hip_buf_new(d, (size_t)n * 16 + 256, &b)) != 0) return e;
    int4 *p = (int4 *)b->base;
    int *sink = (int *)(b->base + (size_t)n * 16);
    if ((e = rf_hip_memset(d, b->base, 1, (size_t)n * 16 + 256)) != 0 || (e = rf_hip_sync(d)) != 0) {
        rf_hip_buf_free(b);
        return e;
    }
    for (int r = 0; r <= reps; r++) { /* the first pass warms up */
        const auto t0 = std::chrono::steady_clock::now();
        rf_read_kernel<<<blocks, rf_hip_threads(d), 0, d->stream>>>(p, n, sink);
        if ((e = rf_hip_sync(d)) != 0) break;
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r > 0 && s > 0 && (double)n * 16 / s / 1e9 > best) best = (double)n * 16 / s / 1e9;
    }
    rf_hip_buf_free(b);
    *gb_per_s = best;
    return e;
}
