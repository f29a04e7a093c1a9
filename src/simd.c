/* simd: detects the CPU at run time and fills a context's kernel table with the best path it
   runs; `RF_NO_SIMD` builds keep the scalar table. Also the streaming-read bandwidth probe that
   `rf bench` compares decode against. */

static const char *rf__cpu_paths(unsigned f);

static unsigned rf__cpu_detect(void) {
#if defined(RF__SIMD_X86)
    return rf__x86_features();
#elif defined(RF__SIMD_ARM)
    return rf__arm_features();
#else
    return 0;
#endif
}

#if defined(RF__SIMD_X86)
#define RF__X86_AVX2_OK(f) (((f) & (RF__CPU_AVX2 | RF__CPU_FMA | RF__CPU_F16C)) == (RF__CPU_AVX2 | RF__CPU_FMA | RF__CPU_F16C))
#define RF__X86_VNNI_OK(f) \
    (RF__X86_AVX2_OK(f) && ((f) & (RF__CPU_AVX512F | RF__CPU_AVX512BW | RF__CPU_AVX512VL | RF__CPU_AVX512VNNI)) == \
                               (RF__CPU_AVX512F | RF__CPU_AVX512BW | RF__CPU_AVX512VL | RF__CPU_AVX512VNNI))

static void rf__gemm_set(rf__kernels *k, rf_type t, int group, int zero, int has_min, rf__gemm_pack_fn pack,
                         rf__gemm_side_fn side) {
    rf__gemm_kernel *g = &k->gemm[t];
    g->group = group;
    g->zero = zero;
    g->has_min = has_min;
    g->pack = pack;
    g->side = side;
    g->tile[0] = group == 32 ? rf__gemm_tile8_g32_vnni : rf__gemm_tile8_g16_vnni;
    g->tile[1] = group == 32 ? rf__gemm_tile4_g32_vnni : rf__gemm_tile4_g16_vnni;
    g->tile[2] = group == 32 ? rf__gemm_tile1_g32_vnni : rf__gemm_tile1_g16_vnni;
}

static void rf__kernels_avx2(rf__kernels *k) {
    k->name = "avx2";
    k->dot[RF_TYPE_Q4_0] = rf__dot_q4_0_q8_0_avx2;
    k->dot[RF_TYPE_Q5_0] = rf__dot_q5_0_q8_0_avx2;
    k->dot[RF_TYPE_Q8_0] = rf__dot_q8_0_q8_0_avx2;
    k->dot[RF_TYPE_IQ4_NL] = rf__dot_iq4_nl_q8_0_avx2;
    k->dot[RF_TYPE_MXFP4] = rf__dot_mxfp4_q8_0_avx2;
    k->dot[RF_TYPE_Q4_1] = rf__dot_q4_1_q8_1_avx2;
    k->dot[RF_TYPE_Q5_1] = rf__dot_q5_1_q8_1_avx2;
    k->dot[RF_TYPE_Q4_K] = rf__dot_q4_K_q8_K_avx2;
    k->dot[RF_TYPE_Q5_K] = rf__dot_q5_K_q8_K_avx2;
    k->dot[RF_TYPE_Q6_K] = rf__dot_q6_K_q8_K_avx2;
    k->dot[RF_TYPE_F16] = rf__dot_f16_f32_avx2;
    k->dot[RF_TYPE_BF16] = rf__dot_bf16_f32_avx2;
    k->dot[RF_TYPE_F32] = rf__dot_f32_f32_avx2;
    k->dot_f32 = rf__dot_f32_f32_avx2;
    k->quant[RF_TYPE_Q8_0] = rf__quant_q8_0_avx2;
    k->quant[RF_TYPE_Q8_K] = rf__quant_q8_K_avx2;
    k->dequant[RF_TYPE_F16] = rf__f16_to_f32_avx2;
    k->axpy_f16 = rf__axpy_f16_avx2;
    k->glu_silu = rf__glu_silu_avx2;
    k->glu_gelu = rf__glu_gelu_avx2;
    k->qk_f16 = rf__qk_f16_avx2;
    k->pv_f16 = rf__pv_f16_avx2;
    k->softmax = rf__softmax_avx2;
    k->dot4[RF_TYPE_Q4_0] = rf__dot4_q4_0_q8_0_avx2;
    k->dot4[RF_TYPE_Q8_0] = rf__dot4_q8_0_q8_0_avx2;
    k->dot4[RF_TYPE_Q4_K] = rf__dot4_q4_K_q8_K_avx2;
    k->dot4[RF_TYPE_Q6_K] = rf__dot4_q6_K_q8_K_avx2;
    k->gemv_side = rf__gemv_side_q8_0_avx2;
    k->gemv[RF_TYPE_Q4_0] = rf__gemv_q4_0_q8_0_avx2;
    k->gemv[RF_TYPE_Q8_0] = rf__gemv_q8_0_q8_0_avx2;
    k->gemv[RF_TYPE_Q5_0] = rf__gemv_q5_0_q8_0_avx2;
    k->gemv[RF_TYPE_IQ4_NL] = rf__gemv_iq4_nl_q8_0_avx2;
    k->gemv[RF_TYPE_Q4_K] = rf__gemv_q4_K_q8_K_avx2;
    k->gemv[RF_TYPE_Q6_K] = rf__gemv_q6_K_q8_K_avx2;
}

static void rf__kernels_vnni(rf__kernels *k) {
    rf__kernels_avx2(k);
    k->name = "avx512-vnni";
    k->dot[RF_TYPE_Q4_0] = rf__dot_q4_0_q8_0_vnni;
    k->dot[RF_TYPE_Q5_0] = rf__dot_q5_0_q8_0_vnni;
    k->dot[RF_TYPE_Q8_0] = rf__dot_q8_0_q8_0_vnni;
    k->dot[RF_TYPE_IQ4_NL] = rf__dot_iq4_nl_q8_0_vnni;
    k->dot[RF_TYPE_MXFP4] = rf__dot_mxfp4_q8_0_vnni;
    k->dot4[RF_TYPE_Q4_0] = rf__dot4_q4_0_q8_0_vnni;
    k->dot4[RF_TYPE_Q8_0] = rf__dot4_q8_0_q8_0_vnni;
    k->dot[RF_TYPE_Q4_K] = rf__dot_q4_K_q8_K_vnni;
    k->dot[RF_TYPE_Q6_K] = rf__dot_q6_K_q8_K_vnni;
    k->gemv[RF_TYPE_Q4_0] = rf__gemv_q4_0_q8_0_vnni;
    k->gemv[RF_TYPE_Q8_0] = rf__gemv_q8_0_q8_0_vnni;
    k->gemv[RF_TYPE_Q5_0] = rf__gemv_q5_0_q8_0_vnni;
    k->gemv[RF_TYPE_Q4_K] = rf__gemv_q4_K_q8_K_vnni;
    k->gemv[RF_TYPE_Q6_K] = rf__gemv_q6_K_q8_K_vnni;
    rf__gemm_set(k, RF_TYPE_Q4_0, 32, 8, 0, rf__pack_q4_0_vnni, rf__gemm_side_q8_0_vnni);
    rf__gemm_set(k, RF_TYPE_Q8_0, 32, 128, 0, rf__pack_q8_0_vnni, rf__gemm_side_q8_0_vnni);
    rf__gemm_set(k, RF_TYPE_Q5_0, 32, 16, 0, rf__pack_q5_0_vnni, rf__gemm_side_q8_0_vnni);
    rf__gemm_set(k, RF_TYPE_Q4_K, 32, 0, 1, rf__pack_q4_K_vnni, rf__gemm_side_q8_K_vnni);
    rf__gemm_set(k, RF_TYPE_Q6_K, 16, 32, 0, rf__pack_q6_K_vnni, rf__gemm_side_q8_K_vnni);
}
#endif

/* Fill k for the path named `want` (NULL or "": the best this CPU runs). RF_ERR_UNSUPPORTED when
   the CPU (or this build) lacks the one asked for. */
static rf_status rf__kernels_pick(const char *want, rf__kernels *k) {
    unsigned f = rf__cpu_detect();
    int best = !want || !*want;
    rf__kernels_scalar(k, f);
    if (!best && !strcmp(want, "scalar")) return RF_OK;
#if defined(RF__SIMD_X86)
    if ((best || !strcmp(want, "avx512-vnni") || !strcmp(want, "avx512")) && RF__X86_VNNI_OK(f)) {
        rf__kernels_vnni(k);
        return RF_OK;
    }
    if ((best || !strcmp(want, "avx2")) && RF__X86_AVX2_OK(f)) {
        rf__kernels_avx2(k);
        return RF_OK;
    }
#elif defined(RF__SIMD_ARM)
    if ((best || !strcmp(want, "neon-dotprod")) && (f & RF__CPU_DOTPROD)) {
        rf__kernels_neon(k, 1);
        return RF_OK;
    }
    if ((best || !strcmp(want, "neon")) && (f & RF__CPU_NEON)) {
        rf__kernels_neon(k, 0);
        return RF_OK;
    }
#endif
    if (best) return RF_OK;
    return rf__err(RF_ERR_UNSUPPORTED, "cpu kernels '%s': not available on this CPU or in this build (have: %s)", want,
                   rf__cpu_paths(f));
}

/* The paths this CPU can run, best first, for messages and `rf info --cpu`. */
static const char *rf__cpu_paths(unsigned f) {
    (void)f;
#if defined(RF__SIMD_X86)
    if (RF__X86_VNNI_OK(f)) return "avx512-vnni avx2 scalar";
    if (RF__X86_AVX2_OK(f)) return "avx2 scalar";
#elif defined(RF__SIMD_ARM)
    if (f & RF__CPU_DOTPROD) return "neon-dotprod neon scalar";
    if (f & RF__CPU_NEON) return "neon scalar";
#endif
    return "scalar";
}

RF_API size_t rf_cpu_describe(char *buf, size_t n) {
    unsigned f = rf__cpu_detect();
    rf__kernels k;
    size_t len = 0;
    int i, w;
    rf__kernels_pick(NULL, &k);
    if (!buf || !n) return 0;
    buf[0] = 0;
#if defined(__x86_64__)
    w = snprintf(buf, n, "arch: x86-64\nfeatures:");
#elif defined(__aarch64__)
    w = snprintf(buf, n, "arch: aarch64\nfeatures:");
#else
    w = snprintf(buf, n, "arch: other\nfeatures:");
#endif
    len = w > 0 ? (size_t)w : 0;
    for (i = 0; i < (int)(sizeof rf__cpu_feature_names / sizeof rf__cpu_feature_names[0]); i++)
        if ((f & (1u << i)) && len < n && (w = snprintf(buf + len, n - len, " %s", rf__cpu_feature_names[i])) > 0)
            len += (size_t)w;
    if (len < n && (w = snprintf(buf + len, n - len, "\npaths: %s\nkernels: %s\n", rf__cpu_paths(f), k.name)) > 0)
        len += (size_t)w;
    return len < n ? len : n - 1;
}

/* ---------------------------------------------------------------------------------------------
   Memory bandwidth: every thread sums its slice of one buffer much larger than the caches; the
   best of `reps` passes, in GB/s (1e9 bytes). This is the ceiling a memory-bound decode can
   reach: it reads all weights once per token. */

typedef struct rf__bw_job {
    const float *buf;
    int64_t n;
    float sink[256];
    const rf__kernels *k;
} rf__bw_job;

#define RF__BW_STREAMS 4  /* read side by side per thread, as the decode's multi-row kernels do */
#define RF__BW_CHUNK 256  /* floats (1 KB) of one stream per turn */

static void rf__bw_task(void *arg, int ith, int nth) {
    rf__bw_job *j = (rf__bw_job *)arg;
    const int64_t a = j->n * ith / nth / 64 * 64, b = j->n * (ith + 1) / nth / 64 * 64;
    const int64_t len = (b - a) / RF__BW_STREAMS / RF__BW_CHUNK * RF__BW_CHUNK; /* per stream */
    int64_t off, s;
    double acc = 0;
    /* dots of each stream's chunk with itself (the same pointer twice hits L1), the streams taken
       in turn: one sequential stream per core leaves the memory system idle part of the time on
       some CPUs (on a 2-core Xeon, rf's decode streamed up to 9% faster than a one-stream probe
       read; docs/perf.md) */
    for (off = 0; off < len; off += RF__BW_CHUNK)
        for (s = 0; s < RF__BW_STREAMS; s++) {
            const float *p = j->buf + a + s * len + off;
            acc += j->k->dot_f32(p, p, RF__BW_CHUNK);
        }
    if (a + RF__BW_STREAMS * len < b) acc += j->k->dot_f32(j->buf + a + RF__BW_STREAMS * len, j->buf + a + RF__BW_STREAMS * len,
                                                          b - a - RF__BW_STREAMS * len);
    j->sink[ith & 255] += (float)acc;
}

RF_API double rf_cpu_read_bandwidth(int n_threads, uint64_t bytes, int reps) {
    rf__pool *pool = NULL;
    rf__bw_job j;
    rf__kernels k;
    double best = 0;
    int64_t i;
    int r;
    if (bytes < (1u << 20)) bytes = 1u << 20;
    memset(&j, 0, sizeof j);
    j.n = (int64_t)(bytes / 4);
    if (rf__pool_new(n_threads, &pool) != RF_OK) return 0;
    rf__kernels_pick(NULL, &k);
    j.k = &k;
    j.buf = RF__NEW(float, j.n);
    if (!j.buf) {
        rf__pool_free(pool);
        return 0;
    }
    for (i = 0; i < j.n; i++) ((float *)j.buf)[i] = 1.0f; /* touch every page before timing */
    rf__pool_run(pool, rf__bw_task, &j);                   /* warm-up pass */
    for (r = 0; r < (reps > 0 ? reps : 5); r++) {
        double t0 = rf__now(), dt;
        rf__pool_run(pool, rf__bw_task, &j);
        dt = rf__now() - t0;
        if (dt > 0 && (double)j.n * 4 / dt / 1e9 > best) best = (double)j.n * 4 / dt / 1e9;
    }
    RF_FREE((void *)j.buf);
    rf__pool_free(pool);
    return best;
}
