/* sched: the hybrid scheduler -- which device runs each layer, and how a batch crosses between
   them. It comes after forward.c (the CPU's layer steps) and hip.c (the GPU's).

   Placement (rf__sched_place, in rf_model_load). The GPU takes a suffix of the layers, the last
   N (llama.cpp's -ngl), and the embedding and output head only when it takes every layer. A
   layer with a tensor type the GPU has no kernel for stays on the CPU, with a notice: the
   fallback is per layer, not per op. RF_GPU_LAYERS_AUTO sizes N with rf__sched_fit:

     GPU bytes = the weights of its layers (hip.c's own sizing pass, layer by layer)
               + their f16 KV cache for n_ctx positions + one context's scratch
               (+ the embedding and head when every layer fits)
            <= free memory - (256 MiB + 2 % of the device), or RF_GPU_VRAM_BUDGET if smaller

   dropping the head first, then the lowest layers. The plan (layers and bytes per device) is
   logged before the upload. Nothing here fails a load that the CPU can run: no GPU backend, no
   device, or a model the kernels cannot run (YaRN) -> the CPU; no room for the weights (a
   failed hipMalloc, say with -ngl all on a small GPU) -> a step smaller (the head, or the
   lowest layer), then as small as the memory free now holds with a context (the rule above,
   without the margin), and again, down to the CPU; a context whose KV cache or scratch does not
   fit -> that context runs on the CPU (the model keeps every weight in host memory, so the CPU
   can always run every layer).

   Execution (rf__sched_layers, in each rf__forward). The layers run in order; consecutive
   layers on the GPU form a segment. A segment's activations x [n][n_embd] go up once through
   pinned memory, hip.c's rf__hip_batch runs its layers with the GPU's KV cache (of its layers
   only), and x comes back once. CPU layers use the context's paged KV cache (kv.c). With -ngl N
   that is one segment, and the head on the CPU. When the GPU runs everything, forward.c gives
   the whole decode to hip.c (its larger batches, sampling on the device). Inside one sequence
   each layer needs the one before, so the devices take turns rather than overlap.

   moe_cpu (--moe-cpu): the routers and experts stay in host memory; in a GPU layer, hip.c
   downloads the normed activations, the CPU runs forward.c's rf__moe on each row
   (rf__sched_host_moe) and the sum goes back up; attention, norms and residuals stay there.

   Time per device (rf_ctx_device_seconds): a GPU segment's wall time counts for the GPU
   (transfers and waiting included), the rest of a forward pass for the CPU; the expert FFNs of
   moe_cpu for the CPU. */

#define RF__SCHED_MARGIN ((uint64_t)256 << 20) /* + 2 % of the device: the runtime's own needs */

typedef struct rf__fit rf__fit;
/* not every build calls every one of these (the CPU-only build places nothing) */
static void rf__sched_fit(rf__fit *f) RF__UNUSED;
static int rf__sched_parse_size(const char *s, uint64_t *out) RF__UNUSED;
static void rf__sched_ranges(const uint8_t *on, int64_t n_layer, int want, char *buf, size_t n) RF__UNUSED;
static uint64_t rf__sched_cpu_bytes(const rf_model *m, int64_t l, int on_gpu, int moe_cpu) RF__UNUSED;

/* The planner's question and answer; a pure function of its inputs (tests/test_sched.c). */
struct rf__fit {
    int64_t n_layer;
    const uint64_t *layer_bytes; /* [n_layer]: the weights the GPU would hold for each layer */
    const uint8_t *gpu_ok;       /* [n_layer]: the GPU has a kernel for every tensor of it */
    uint64_t io_bytes;           /* embedding + output norm + head */
    int io_ok;
    uint64_t base_bytes;         /* weights any GPU layer needs (RoPE frequencies) */
    uint64_t kv_layer_bytes;     /* one layer's KV cache for the context */
    uint64_t ctx_bytes;          /* one context's scratch (and fixed KV overhead) */
    uint64_t budget;             /* what may be used (for RF_GPU_LAYERS_AUTO) */
    int32_t want;                /* n_gpu_layers as asked */
    uint8_t *gpu;                /* out [n_layer]: 1 = the GPU runs it */
    int io;                      /* out: embedding and head on the GPU */
    int64_t n_gpu;               /* out: layers on the GPU */
    uint64_t bytes;              /* out: GPU bytes of the plan */
};

static uint64_t rf__fit_bytes(const rf__fit *f) {
    uint64_t b = 0;
    int64_t l;
    if (f->n_gpu == 0 && !f->io) return 0;
    for (l = 0; l < f->n_layer; l++)
        if (f->gpu[l]) b += f->layer_bytes[l] + f->kv_layer_bytes;
    return b + f->base_bytes + f->ctx_bytes + (f->io ? f->io_bytes : 0);
}

/* One step smaller: the head first, then the lowest GPU layer. */
static void rf__fit_drop(rf__fit *f) {
    int64_t l;
    if (f->io) {
        f->io = 0;
        return;
    }
    for (l = 0; l < f->n_layer && !f->gpu[l]; l++) {}
    if (l < f->n_layer) f->gpu[l] = 0, f->n_gpu--;
}

static void rf__sched_fit(rf__fit *f) {
    const int all = f->want < 0 || f->want >= f->n_layer; /* RF_GPU_LAYERS_AUTO starts from all */
    const int64_t first = all ? 0 : f->n_layer - (f->want > 0 ? f->want : 0);
    int64_t l;
    f->n_gpu = 0;
    for (l = 0; l < f->n_layer; l++) {
        f->gpu[l] = (uint8_t)(l >= first && f->gpu_ok[l]);
        f->n_gpu += f->gpu[l];
    }
    f->io = f->n_gpu == f->n_layer && f->io_ok;
    while (f->want == RF_GPU_LAYERS_AUTO && rf__fit_bytes(f) > f->budget && (f->io || f->n_gpu > 0)) rf__fit_drop(f);
    f->bytes = rf__fit_bytes(f);
}

/* "123", "512K", "500M", "2G", "1.5T" (powers of 1024, an optional "B" or "iB" after the
   letter) -> bytes; 0 when s is not a size. */
static int rf__sched_parse_size(const char *s, uint64_t *out) {
    char *end;
    double v, mul = 1;
    if (!s || !*s) return 0;
    v = strtod(s, &end);
    if (end == s || !(v >= 0) || v > 1e18) return 0;
    switch (*end) {
    case 'k': case 'K': mul = 1024.0, end++; break;
    case 'm': case 'M': mul = 1024.0 * 1024, end++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024, end++; break;
    case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024, end++; break;
    default: break;
    }
    if (mul > 1 && (end[0] == 'i' || end[0] == 'I') && (end[1] == 'b' || end[1] == 'B')) end += 2;
    else if (mul > 1 && (end[0] == 'b' || end[0] == 'B')) end++;
    if (*end || v * mul > 1.8e19) return 0;
    *out = (uint64_t)(v * mul);
    return 1;
}

/* "0-3,5,9-31": the layers with on[l] set (text truncated to n bytes). */
static void rf__sched_ranges(const uint8_t *on, int64_t n_layer, int want, char *buf, size_t n) {
    int64_t l = 0, e;
    size_t at = 0;
    buf[0] = 0;
    while (l < n_layer && at + 1 < n) {
        if ((on[l] != 0) != want) {
            l++;
            continue;
        }
        for (e = l; e + 1 < n_layer && (on[e + 1] != 0) == want; e++) {}
        at += (size_t)snprintf(buf + at, n - at, at ? ",%lld" : "%lld", (long long)l);
        if (e > l && at + 1 < n) at += (size_t)snprintf(buf + at, n - at, "-%lld", (long long)e);
        l = e + 1;
    }
    if (at >= n) buf[n - 1] = 0;
}

static uint64_t rf__sched_mat_bytes(const rf__mat *w, int64_t ne2) {
    return w->data ? w->row_bytes * (uint64_t)w->ne1 * (uint64_t)ne2 : 0;
}

/* Host bytes of layer l's matrices the CPU computes with: all of them when the CPU runs the
   layer, the routers and experts only under moe_cpu. */
static uint64_t rf__sched_cpu_bytes(const rf_model *m, int64_t l, int on_gpu, int moe_cpu) {
    const rf__layer *L = &m->layers[l];
    const int64_t ne = m->n_expert;
    uint64_t experts = rf__sched_mat_bytes(&L->moe_router, 1) + rf__sched_mat_bytes(&L->moe_gate, ne) +
                       rf__sched_mat_bytes(&L->moe_up, ne) + rf__sched_mat_bytes(&L->moe_down, ne);
    if (on_gpu) return moe_cpu ? experts : 0;
    return experts + rf__sched_mat_bytes(&L->wq, 1) + rf__sched_mat_bytes(&L->wk, 1) + rf__sched_mat_bytes(&L->wv, 1) +
           rf__sched_mat_bytes(&L->wqkv, 1) + rf__sched_mat_bytes(&L->wo, 1) + rf__sched_mat_bytes(&L->w_gate, 1) +
           rf__sched_mat_bytes(&L->w_up, 1) + rf__sched_mat_bytes(&L->w_down, 1);
}

RF_API void rf_model_gpu_plan(const rf_model *m, rf_gpu_plan *out) {
    if (!out) return;
    if (m) *out = m->plan;
    else memset(out, 0, sizeof *out);
}

RF_API void rf_ctx_device_seconds(const rf_ctx *c, double *cpu_s, double *gpu_s) {
    if (cpu_s) *cpu_s = c ? c->t_cpu : 0;
    if (gpu_s) *gpu_s = c ? c->t_gpu : 0;
}

#ifdef ROCMFORGE_HIP

/* The plan, logged before the upload: layers and bytes per device. */
static void rf__sched_log_plan(const rf_model *m, const rf__fit *f, int32_t device, int auto_fit) {
    const rf_gpu_plan *p = &m->plan;
    char gl[160], cl[160], cpu[256], budget[64];
    size_t at = 0;
    rf__sched_ranges(f->gpu, m->n_layer, 1, gl, sizeof gl);
    rf__sched_ranges(f->gpu, m->n_layer, 0, cl, sizeof cl);
    cpu[0] = budget[0] = 0;
    if (cl[0]) at += (size_t)snprintf(cpu + at, sizeof cpu - at, "layers %s", cl);
    if (!f->io && at < sizeof cpu) at += (size_t)snprintf(cpu + at, sizeof cpu - at, "%sthe embedding and output head", at ? ", " : "");
    if (p->moe_cpu && at < sizeof cpu) at += (size_t)snprintf(cpu + at, sizeof cpu - at, "%sthe experts", at ? ", " : "");
    if (auto_fit) snprintf(budget, sizeof budget, " of a %.2f GB budget", (double)f->budget / 1e9);
    rf__log(&m->log, RF_LOG_INFO,
            "plan: GPU %d runs layers %s (%lld of %lld)%s: weights %.2f GB + KV %.2f GB (%d positions) + scratch %.2f GB = "
            "%.2f GB%s; CPU runs %s: weights %.2f GB",
            (int)device, gl[0] ? gl : "none", (long long)f->n_gpu, (long long)m->n_layer, f->io ? " and the output head" : "",
            (double)p->gpu_weight_bytes / 1e9, (double)p->gpu_kv_bytes / 1e9, (int)p->n_ctx, (double)p->gpu_scratch_bytes / 1e9,
            (double)(p->gpu_weight_bytes + p->gpu_kv_bytes + p->gpu_scratch_bytes) / 1e9, budget, cpu[0] ? cpu : "nothing",
            (double)p->cpu_weight_bytes / 1e9);
}

/* m->plan from a fit (the GPU bytes of what hip.c will allocate). */
static void rf__sched_set_plan(rf_model *m, const rf__fit *f, int moe_cpu, int32_t n_ctx, int auto_fit) {
    rf_gpu_plan *p = &m->plan;
    int64_t l;
    memset(p, 0, sizeof *p);
    p->n_layer = (int32_t)m->n_layer;
    p->first_gpu_layer = -1;
    p->n_ctx = n_ctx;
    p->moe_cpu = moe_cpu;
    p->budget = auto_fit ? f->budget : 0;
    for (l = m->n_layer - 1; l >= 0; l--) {
        if (f->gpu[l]) p->first_gpu_layer = (int32_t)l, p->n_gpu_layers++, p->gpu_weight_bytes += f->layer_bytes[l];
        p->cpu_weight_bytes += rf__sched_cpu_bytes(m, l, f->gpu[l], moe_cpu);
    }
    p->io_on_gpu = f->io;
    if (f->io) p->gpu_weight_bytes += f->io_bytes;
    else p->cpu_weight_bytes += rf__sched_mat_bytes(&m->tok_embd, 1) +
                                (m->output.data != m->tok_embd.data ? rf__sched_mat_bytes(&m->output, 1) : 0);
    if (f->n_gpu > 0 || f->io) {
        p->gpu_weight_bytes += f->base_bytes;
        p->gpu_kv_bytes = (uint64_t)f->n_gpu * f->kv_layer_bytes;
        p->gpu_scratch_bytes = f->ctx_bytes;
    }
}

/* Measure what each layer would take on the GPU and whether it can go there, fit, upload; fall
   back to fewer layers when the weights do not fit. Only host OOM fails. */
static rf_status rf__sched_place(rf_model *m, const rf_model_params *p) {
    const int32_t device = p->gpu_device;
    const int auto_fit = p->n_gpu_layers == RF_GPU_LAYERS_AUTO;
    const int32_t n_ctx = p->n_ctx > 0 ? p->n_ctx : (int32_t)RF__MIN(m->n_ctx_train, 4096);
    uint64_t *lb = NULL, free_mem = 0, total_mem = 0, with_io = 0, one, kv0, kv1, scratch, env;
    uint8_t *ok = NULL, *gpu = NULL;
    int64_t l, n_bad = 0, bad_first = -1, tries = 0;
    char err[256], bad_msg[600];
    rf__place pl;
    rf__fit f;
    rf_status s = RF_OK;
    memset(&m->plan, 0, sizeof m->plan);
    m->plan.n_layer = (int32_t)m->n_layer;
    m->plan.first_gpu_layer = -1;
    if (p->n_gpu_layers == 0) return RF_OK;
    if (m->rope_mscale != 1.0f) {
        rf__log(&m->log, RF_LOG_WARN, "GPU: YaRN RoPE scaling is not in the GPU kernels yet; running on the CPU");
        return RF_OK;
    }
    if (rf__hip_probe(device, &free_mem, &total_mem, err, sizeof err)) {
        rf__log(&m->log, RF_LOG_WARN, "GPU: no device %d (%s); running on the CPU", (int)device, err);
        return RF_OK;
    }
    lb = RF__NEWZ(uint64_t, m->n_layer);
    ok = RF__NEWZ(uint8_t, m->n_layer);
    gpu = RF__NEWZ(uint8_t, m->n_layer);
    if (!lb || !ok || !gpu) {
        s = rf__err(RF_ERR_OOM, "sched: out of host memory");
        goto done;
    }
    memset(&pl, 0, sizeof pl);
    memset(&f, 0, sizeof f);
    pl.gpu = gpu;
    pl.moe_cpu = p->moe_cpu != 0;
    /* the sizes: nothing, then the embedding and head, then each layer alone */
    if ((s = rf__hip_weight_bytes(m, &pl, &f.base_bytes)) != RF_OK) goto done; /* RoPE freqs: f32 */
    pl.io = 1;
    s = rf__hip_weight_bytes(m, &pl, &with_io);
    if (s != RF_OK && s != RF_ERR_UNSUPPORTED) goto done;
    f.io_ok = s == RF_OK;
    f.io_bytes = f.io_ok ? with_io - f.base_bytes : 0;
    if (!f.io_ok) rf__log(&m->log, RF_LOG_WARN, "%s: the CPU runs the embedding and output head", rf_last_error());
    pl.io = 0;
    for (l = 0; l < m->n_layer; l++) {
        gpu[l] = 1;
        s = rf__hip_weight_bytes(m, &pl, &one);
        gpu[l] = 0;
        if (s != RF_OK && s != RF_ERR_UNSUPPORTED) goto done;
        ok[l] = s == RF_OK;
        lb[l] = ok[l] ? one - f.base_bytes : 0;
        if (!ok[l] && n_bad++ == 0) bad_first = l, snprintf(bad_msg, sizeof bad_msg, "%s", rf_last_error());
    }
    s = RF_OK;
    if (n_bad)
        rf__log(&m->log, RF_LOG_WARN, "%s in layer %lld%s: the CPU runs %lld layer%s the GPU cannot", bad_msg,
                (long long)bad_first, n_bad > 1 ? " and others" : "", (long long)n_bad, n_bad > 1 ? "s" : "");
    rf__hip_ctx_bytes(m, n_ctx, 0, &kv0, &scratch);
    rf__hip_ctx_bytes(m, n_ctx, 1, &kv1, &scratch);
    f.kv_layer_bytes = kv1 - kv0;
    f.ctx_bytes = scratch + kv0;
    f.n_layer = m->n_layer;
    f.layer_bytes = lb;
    f.gpu_ok = ok;
    f.gpu = gpu;
    f.want = p->n_gpu_layers;
    f.budget = UINT64_MAX;
    if (auto_fit) {
        const uint64_t margin = RF__SCHED_MARGIN + total_mem / 50;
        const char *e = getenv("RF_GPU_VRAM_BUDGET");
        f.budget = free_mem > margin ? free_mem - margin : 0;
        if (e && rf__sched_parse_size(e, &env)) f.budget = RF__MIN(f.budget, env);
        else if (e) rf__log(&m->log, RF_LOG_WARN, "RF_GPU_VRAM_BUDGET='%s' is not a size (bytes, or 512M, 2G): ignored", e);
    }
    rf__sched_fit(&f);
    for (;;) {
        rf__sched_set_plan(m, &f, pl.moe_cpu, n_ctx, auto_fit);
        if (f.n_gpu == 0 && !f.io) {
            rf__log(&m->log, auto_fit ? RF_LOG_INFO : RF_LOG_WARN, "plan: no layer on GPU %d%s; running on the CPU",
                    (int)device, auto_fit ? " fits the budget" : "");
            m->plan.budget = auto_fit ? f.budget : 0;
            break;
        }
        rf__sched_log_plan(m, &f, device, auto_fit);
        pl.io = f.io;
        if ((s = rf__hip_model_new(m, &pl, device, &m->gpu)) == RF_OK) break;
        if (s != RF_ERR_DEVICE && s != RF_ERR_UNSUPPORTED) goto done; /* host memory */
        rf__log(&m->log, tries++ ? RF_LOG_INFO : RF_LOG_WARN, "%s; trying with %s", rf_last_error(),
                s == RF_ERR_UNSUPPORTED ? "the CPU" : f.io ? "the output head on the CPU" : "one GPU layer fewer");
        if (s == RF_ERR_UNSUPPORTED) {
            memset(gpu, 0, (size_t)m->n_layer), f.n_gpu = 0, f.io = 0;
        } else { /* one step smaller, then as small as what is free now needs, a context included */
            rf__fit_drop(&f);
            if (!rf__hip_probe(device, &free_mem, &total_mem, err, sizeof err))
                while ((f.io || f.n_gpu > 0) && rf__fit_bytes(&f) > free_mem) rf__fit_drop(&f);
        }
        f.bytes = rf__fit_bytes(&f);
        s = RF_OK;
    }
    if (m->gpu && tries)
        rf__log(&m->log, RF_LOG_WARN, "GPU: %lld of %lld layers fit%s", (long long)f.n_gpu, (long long)m->n_layer,
                f.io ? ", and the output head" : "");
    if (!m->gpu) { /* the CPU after all: a plan of nothing */
        memset(gpu, 0, (size_t)m->n_layer);
        f.n_gpu = 0, f.io = 0;
        rf__sched_set_plan(m, &f, 0, n_ctx, auto_fit);
    }
done:
    RF_FREE(lb);
    RF_FREE(ok);
    RF_FREE(gpu);
    return s;
}

/* forward.c's MoE FFN, for hip.c, on n rows of x in host memory (in place). The GPU's time
   spent waiting for it is the CPU's. */
static void rf__sched_host_moe(void *user, int64_t layer, float *x, int64_t n) {
    rf_ctx *c = (rf_ctx *)user;
    const int64_t d = c->m->n_embd;
    double dt = rf__now();
    int64_t t;
    for (t = 0; t < n; t++) {
        rf__moe(c, &c->m->layers[layer], x + t * d, c->xb2, c->hb, c->hb2);
        memcpy(x + t * d, c->xb2, sizeof(float) * (size_t)d);
    }
    dt = rf__now() - dt;
    c->t_cpu += dt; /* the GPU's caller counts the whole wait as its own: take this back */
    c->t_gpu -= dt;
}

static int rf__sched_whole_gpu(const rf_ctx *c) {
    return c->gpu && c->m->gpu->io && c->m->gpu->n_slot == c->m->n_layer;
}

/* The GPU side of context c: its KV cache for the GPU's layers and scratch (hip.c), and pinned
   memory for what crosses. No room on the device: c runs on the CPU. */
static rf_status rf__sched_ctx_new(rf_ctx *c) {
    const rf_model *m = c->m;
    rf_status s;
    if (!m->gpu) return RF_OK;
    if ((s = rf__hip_ctx_new(m, c->n_ctx, &c->gpu)) != RF_OK) {
        if (s != RF_ERR_DEVICE) return s;
        rf__log(&m->log, RF_LOG_WARN, "%s: this context runs on the CPU", rf_last_error());
        return RF_OK;
    }
    if (!rf__sched_whole_gpu(c) || m->gpu->moe_cpu) {
        c->gpu->host_io = (float *)rf_hip_host_alloc(c->gpu->dev, sizeof(float) * (size_t)(RF__HIP_BATCH * m->n_embd));
        if (!c->gpu->host_io) {
            rf__log(&m->log, RF_LOG_WARN, "GPU: %s: this context runs on the CPU", rf_hip_error(c->gpu->dev));
            rf__hip_ctx_free(c->gpu);
            c->gpu = NULL;
            return RF_OK;
        }
        c->gpu->host_moe = rf__sched_host_moe;
        c->gpu->host_user = c;
    }
    return RF_OK;
}

/* Layers [l0, l1) of the batch's rows on the GPU: x up, the layers, x down. */
static rf_status rf__sched_gpu_segment(rf_ctx *c, const rf__batch *b, int64_t l0, int64_t l1) {
    rf__hip_ctx *g = c->gpu;
    const size_t bytes = sizeof(float) * (size_t)(b->n * c->m->n_embd);
    const double t0 = rf__now();
    int64_t t;
    int e;
    for (t = 0; t < b->n; t++)
        if (b->seq[t] != c || b->pos[t] != b->pos[0] + t)
            return rf__err(RF_ERR_INVALID_ARG, "sched: a split batch holds rows of one context in order (a bug)");
    memcpy(g->host_io, c->x, bytes);
    e = rf_hip_upload_pinned(g->dev, g->x, g->host_io, bytes);
    if (!e) e = rf__hip_batch(g, NULL, b->n, b->pos[0], l0, l1, NULL);
    if (!e) e = rf_hip_download(g->dev, g->host_io, g->x, bytes);
    c->t_gpu += rf__now() - t0;
    if (e) return rf__hip_fail(g->dev, "layers on the GPU");
    memcpy(c->x, g->host_io, bytes);
    return RF_OK;
}

#else /* !ROCMFORGE_HIP */

static rf_status rf__sched_place(rf_model *m, const rf_model_params *p) {
    memset(&m->plan, 0, sizeof m->plan);
    m->plan.n_layer = (int32_t)m->n_layer;
    m->plan.first_gpu_layer = -1;
    if (p->n_gpu_layers)
        rf__log(&m->log, p->n_gpu_layers == RF_GPU_LAYERS_AUTO ? RF_LOG_INFO : RF_LOG_WARN,
                "GPU layers asked for, but this build has no GPU backend (ROCMFORGE_HIP): running on the CPU");
    return RF_OK;
}
static rf_status rf__sched_ctx_new(rf_ctx *c) {
    (void)c;
    return RF_OK;
}
static int rf__sched_whole_gpu(const rf_ctx *c) {
    (void)c;
    return 0;
}

#endif

/* Every layer of the batch, each on its device: CPU layers with forward.c's steps, runs of GPU
   layers as one segment each. */
static rf_status rf__sched_layers(rf_ctx *c, const rf__batch *b) {
    const rf_model *m = c->m;
    int64_t l = 0;
    while (l < m->n_layer) {
#ifdef ROCMFORGE_HIP
        if (c->gpu && m->gpu->slot[l] >= 0) {
            int64_t l1 = l;
            rf_status s;
            while (l1 < m->n_layer && m->gpu->slot[l1] >= 0) l1++;
            if ((s = rf__sched_gpu_segment(c, b, l, l1)) != RF_OK) return s;
            l = l1;
            continue;
        }
#endif
        rf__attn_qkv(c, b, l);
        rf__attn_out(c, b, l);
        rf__ffn(c, l, b->n);
        l++;
    }
    return RF_OK;
}
