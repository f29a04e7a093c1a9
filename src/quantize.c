/* Choosing tensor types for a whole model, and requantizing one (rf_quantize_model).

   A "model type" is a tensor type name ("q4_0", "q8_0", "f16", ...) or the mix "q4_k_m": Q4_K,
   with Q6_K for output.weight and for attn_v / ffn_down in the layers that get more bits (the
   first and last eighth and every third between -- the Q4_K_M recipe). A row that is not whole
   blocks of the chosen type falls back to q8_0 (rows of 32) or f16, with a warning. */

typedef struct rf__type_plan {
    rf_type base;
    int mix_q4_k_m;
    int ftype; /* llama.cpp's general.file_type code, -1 if none; informational */
} rf__type_plan;

static rf_status rf__type_plan_parse(const char *name, rf__type_plan *p) {
    static const struct { const char *name; int code; } ftypes[] = {
        {"f32", 0}, {"f16", 1}, {"q4_0", 2}, {"q4_1", 3}, {"q8_0", 7}, {"q5_0", 8}, {"q5_1", 9},
        {"q2_k", 10}, {"q3_k", 12}, {"q4_k", 14}, {"q4_k_m", 15}, {"q5_k", 16}, {"q6_k", 18},
        {"iq4_nl", 25}, {"iq4_xs", 30}, {"bf16", 32},
    };
    size_t i;
    memset(p, 0, sizeof *p);
    p->ftype = -1;
    for (i = 0; i < sizeof ftypes / sizeof ftypes[0]; i++)
        if (rf__strieq(ftypes[i].name, name)) p->ftype = ftypes[i].code;
    if (rf__strieq(name, "q4_k_m")) {
        p->base = RF_TYPE_Q4_K;
        p->mix_q4_k_m = 1;
        return RF_OK;
    }
    if (!rf_type_from_name(name, &p->base) || !rf_type_get((uint32_t)p->base)->can_quant || p->base == RF_TYPE_Q8_1 ||
        p->base == RF_TYPE_Q8_K)
        return rf__err(RF_ERR_UNSUPPORTED, "weight type '%s' (have f32 f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k "
                                           "q5_k q6_k iq4_nl iq4_xs mxfp4 q4_k_m)", name);
    return RF_OK;
}

/* More bits for these layers in the Q4_K_M recipe. */
static int rf__more_bits_layer(int64_t layer, int64_t n_layers) {
    return layer < n_layers / 8 || layer >= 7 * n_layers / 8 || (layer - n_layers / 8) % 3 == 2;
}

/* The type of a 2-D weight `name` (layer < 0: not in a block) with rows of ne0. */
static rf_type rf__type_plan_pick(const rf__type_plan *p, const char *name, int64_t layer, int64_t n_layers,
                                  int64_t ne0, const rf_logger *log, const char *who) {
    rf_type t = p->base;
    const rf_type_traits *tr;
    if (p->mix_q4_k_m) {
        if (!strcmp(name, "output.weight")) t = RF_TYPE_Q6_K;
        else if (layer >= 0 && (strstr(name, "attn_v.") || strstr(name, "ffn_down.")) && rf__more_bits_layer(layer, n_layers))
            t = RF_TYPE_Q6_K;
    }
    tr = rf_type_get((uint32_t)t);
    if (ne0 % tr->block_size != 0) {
        rf_type fb = ne0 % 32 == 0 ? RF_TYPE_Q8_0 : RF_TYPE_F16;
        rf__log(log, RF_LOG_WARN, "%s: %s has rows of %lld, not whole %s blocks of %d: using %s", who, name,
                (long long)ne0, tr->name, (int)tr->block_size, rf_type_name(fb));
        t = fb;
    }
    return t;
}

/* ---------------------------------------------------------------------------------------------
   rf_quantize_model: every matrix row is dequantized to f32 and quantized to its new type, rows
   split over the pool, one tensor at a time through the writer's fill callback (never the whole
   model in memory). */

typedef struct rf__rq_tensor {
    const rf_gguf_tensor *src;
    rf__pool *pool;
    const rf_logger *log;
    int64_t index, count;
    double t0;
} rf__rq_tensor;

typedef struct rf__rq_job {
    rf__rq_tensor *q;
    const rf_gguf_tensor *dst_t;
    uint64_t row_bytes;
    uint8_t *dst;
    rf_status status[256];
} rf__rq_job;

static void rf__rq_rows(void *arg, int ith, int nth) {
    rf__rq_job *j = (rf__rq_job *)arg;
    const rf_gguf_tensor *t = j->q->src;
    int64_t n = t->ne[0], rows = t->ne[1] * t->ne[2] * t->ne[3], r;
    uint64_t src_row = t->size / (uint64_t)rows;
    float *x = RF__NEW(float, n);
    rf_status s = x ? RF_OK : rf__err(RF_ERR_OOM, "quantize: out of memory");
    for (r = rows * ith / nth; r < rows * (ith + 1) / nth && s == RF_OK; r++) {
        s = rf_dequantize(t->type, (const uint8_t *)t->data + (uint64_t)r * src_row, x, n);
        if (s == RF_OK) s = rf_quantize(j->dst_t->type, x, j->dst + (uint64_t)r * j->row_bytes, n);
    }
    RF_FREE(x);
    j->status[ith] = s;
}

static rf_status rf__rq_fill(void *user, const rf_gguf_tensor *t, void *dst, uint64_t size) {
    rf__rq_tensor *q = (rf__rq_tensor *)user;
    rf__rq_job j;
    int i;
    if (t->type == q->src->type) {
        memcpy(dst, q->src->data, (size_t)size); /* kept as it is */
    } else {
        j.q = q;
        j.dst_t = t;
        j.dst = (uint8_t *)dst;
        j.row_bytes = size / (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        for (i = 0; i < 256; i++) j.status[i] = RF_OK;
        rf__pool_run(q->pool, rf__rq_rows, &j);
        for (i = 0; i < 256; i++)
            if (j.status[i] != RF_OK) return j.status[i];
    }
    rf__log(q->log, RF_LOG_INFO, "quantize: tensor %lld/%lld %s %s -> %s (%.1f MB) %.1f s", (long long)q->index + 1,
            (long long)q->count, t->name, rf_type_name(q->src->type), rf_type_name(t->type), (double)size / 1e6,
            rf__now() - q->t0);
    return RF_OK;
}

RF_API rf_status rf_quantize_model(const char *in_path, const char *out_path, const char *type, rf_logger *log) {
    rf_gguf *g = NULL;
    rf_gguf_writer *w = NULL;
    rf__pool *pool = NULL;
    rf__rq_tensor *qs = NULL;
    rf__type_plan plan;
    const char *arch = NULL;
    size_t alen = 0;
    int64_t i, nt, n_layers = 0;
    char key[96];
    double t0 = rf__now();
    rf_status s;
    if (!in_path || !out_path || !type) return rf__err(RF_ERR_INVALID_ARG, "rf_quantize_model: NULL argument");
    if ((s = rf__type_plan_parse(type, &plan)) != RF_OK) return s;
    if ((s = rf_gguf_open(in_path, &g)) != RF_OK) return s;
    if (rf_gguf_get_str(g, "general.architecture", &arch, &alen) == RF_OK && alen < 64) {
        snprintf(key, sizeof key, "%.*s.block_count", (int)alen, arch);
        if (rf_gguf_get_i64(g, key, &n_layers) != RF_OK) n_layers = 0;
    }
    nt = rf_gguf_n_tensors(g);
    s = rf__pool_new(0, &pool);
    if (s == RF_OK) s = rf_gguf_writer_new(&w);
    if (s == RF_OK && !(qs = RF__NEWZ(rf__rq_tensor, nt > 0 ? nt : 1))) s = rf__err(RF_ERR_OOM, "quantize: out of memory");
    for (i = 0; s == RF_OK && i < rf_gguf_n_kv(g); i++) {
        const char *k = rf_gguf_kv_key(g, i);
        if (!strcmp(k, "general.file_type")) continue;
        s = rf_gguf_writer_copy_kv(w, g, i);
    }
    if (s == RF_OK && plan.ftype >= 0) s = rf_gguf_set_u32(w, "general.file_type", (uint32_t)plan.ftype);
    for (i = 0; s == RF_OK && i < nt; i++) {
        const rf_gguf_tensor *t = rf_gguf_tensor_at(g, i);
        rf_type to = t->type;
        int64_t layer = -1;
        size_t nl = strlen(t->name);
        /* matrices are requantized; vectors (norms, biases), the MoE router and rope factors stay */
        if (t->n_dims >= 2 && nl > 7 && !strcmp(t->name + nl - 7, ".weight") && !strstr(t->name, "ffn_gate_inp")) {
            if (!rf_type_get((uint32_t)t->type)->can_dequant) {
                s = rf__err(RF_ERR_UNSUPPORTED, "quantize: tensor '%s' is %s, which this build cannot read", t->name,
                            rf_type_name(t->type));
                break;
            }
            if (!strncmp(t->name, "blk.", 4)) layer = strtoll(t->name + 4, NULL, 10);
            to = rf__type_plan_pick(&plan, t->name, layer, n_layers, t->ne[0], log, "quantize");
        }
        qs[i].src = t;
        qs[i].pool = pool;
        qs[i].log = log;
        qs[i].index = i;
        qs[i].count = nt;
        qs[i].t0 = t0;
        s = rf_gguf_add_tensor_fn(w, t->name, to, t->n_dims, t->ne, rf__rq_fill, &qs[i]);
    }
    if (s == RF_OK) s = rf_gguf_writer_write(w, out_path);
    rf_gguf_writer_free(w);
    RF_FREE(qs);
    rf__pool_free(pool);
    rf_gguf_close(g);
    return s;
}
