/* hip: the GPU side of rf_model and rf_ctx, under ROCMFORGE_HIP (without it, stubs: sched.c then
   logs that this build runs on the CPU). The kernels and the device runtime
   live in rocmforge_hip.h, compiled by hipcc or nvcc; this file is plain C that calls its
   extern "C" API, and is the forward pass of forward.c again, with every op a kernel:

     weights  one device arena for every matrix, norm and bias (uploaded once, through pinned
              staging, with progress through the model's logger); tied output reuses token_embd
     ctx      one arena for the f16 KV cache [layer][n_ctx][kv_dim] (k and v), one for scratch
              sized for a batch of RF__HIP_BATCH tokens; its own stream
     decode   n tokens in batches: prefill runs the batched GEMV over up to RF__HIP_BATCH tokens;
              only the last token's logits come back -- or, armed by rf_ctx_decode_sample, only
              the token the sampler chain picks from them on the device (kernels/sample.hip)

   Activations are rounded through the CPU's q8 formats before each quantized GEMV
   (rf_hip_quant_act), so GPU logits match the CPU reference to float rounding.

   What goes on the GPU is sched.c's decision (an rf__place): the layers it marks, their KV cache
   only (slot[layer] indexes it), the embedding and output head only with `io`, the MoE experts
   not with `moe_cpu` (the host's hook runs them). rf__hip_batch runs a range of layers; sched.c
   moves the activations in and out when the CPU runs the others. */

#ifdef ROCMFORGE_HIP
#include "rocmforge_hip.h"

typedef struct rf__hip_model rf__hip_model;
typedef struct rf__hip_ctx rf__hip_ctx;

#define RF__HIP_BATCH 512 /* prefill tokens per pass: scratch grows linearly with it */

typedef struct rf__gmat {
    const void *w;
    rf_type type;
    int64_t ne0, ne1;
    uint64_t row_bytes, stride; /* stride: bytes of one expert's matrix in a stack */
} rf__gmat;

typedef struct rf__glayer {
    float *attn_norm, *ffn_norm, *post_attn_norm, *post_ffn_norm, *q_norm, *k_norm, *bq, *bk, *bv;
    rf__gmat wq, wk, wv, wqkv, wo, w_gate, w_up, w_down, moe_router, moe_gate, moe_up, moe_down;
} rf__glayer;

struct rf__hip_model {
    rf_hip_dev *dev;
    rf_hip_buf *weights;
    rf__glayer *layers;
    rf__gmat tok_embd, output;
    float *out_norm, *rope_freqs;
    int32_t *slot; /* [n_layer]: the layer's index in the GPU KV cache, -1 when the CPU runs it */
    int64_t n_slot;
    int io, moe_cpu; /* see rf__place */
    int device;
    uint64_t total, done, next_report; /* upload progress */
    const rf_logger *log;
};

struct rf__hip_ctx {
    const rf_model *m;
    rf_hip_dev *dev; /* this context's stream */
    rf_hip_buf *kv, *scratch;
    uint16_t *k, *v;
    float *x, *xb, *xb2, *q, *kn, *vn, *qkv, *hb, *hb2, *xq, *router, *moe_w, *moe_y, *logits;
    int32_t *ids, *moe_ids;
    int32_t n_ctx;
    uint64_t kv_layer; /* values per layer of k (or v) */
    /* A pick armed by rf_ctx_decode_sample for the next decode: the sampler's plan and the
       uniform number; the token and the candidate count come back through pick_out. */
    int pick_armed, pick_done;
    rf__sample_plan pick;
    double pick_u;
    int32_t *pick_out, pick_res[2];
    /* The host side of a split (sched.c): pinned [RF__HIP_BATCH][n_embd] floats for activations
       crossing to and from the CPU; the CPU's expert FFN for GPU layers under moe_cpu (x: n rows
       of normed activations in host_io, replaced by the FFN's output). */
    float *host_io;
    void (*host_moe)(void *user, int64_t layer, float *x, int64_t n);
    void *host_user;
};

static rf_status rf__hip_fail(rf_hip_dev *d, const char *what) {
    return rf__err(RF_ERR_DEVICE, "GPU: %s: %s", what, rf_hip_error(d));
}

static int rf__hip_type_ok(rf_type t) {
    switch (t) {
    case RF_TYPE_F32: case RF_TYPE_F16: case RF_TYPE_BF16: case RF_TYPE_Q4_0: case RF_TYPE_Q4_1:
    case RF_TYPE_Q5_0: case RF_TYPE_Q5_1: case RF_TYPE_Q8_0: case RF_TYPE_Q2_K: case RF_TYPE_Q3_K:
    case RF_TYPE_Q4_K: case RF_TYPE_Q5_K: case RF_TYPE_Q6_K: case RF_TYPE_IQ4_NL: case RF_TYPE_IQ4_XS:
    case RF_TYPE_MXFP4: return 1;
    default: return 0;
    }
}

/* Sizing pass (g->weights NULL): count the bytes. Upload pass: carve and copy. */
static rf_status rf__hip_put(rf__hip_model *g, const void *src, uint64_t bytes, void **dst) {
    *dst = NULL;
    if (!src) return RF_OK;
    if (!g->weights) {
        g->total += (bytes + 255) / 256 * 256;
        return RF_OK;
    }
    if (!(*dst = rf_hip_buf_alloc(g->weights, (size_t)bytes, 256)))
        return rf__err(RF_ERR_DEVICE, "GPU: weight arena overflow (a bug: sizing and upload disagree)");
    if (rf_hip_upload(g->dev, *dst, src, (size_t)bytes)) return rf__hip_fail(g->dev, "uploading weights");
    g->done += bytes;
    if (g->done >= g->next_report) {
        rf__log(g->log, RF_LOG_INFO, "GPU: weights %3.0f%% (%.1f of %.1f MB)", 100.0 * (double)g->done / (double)g->total,
                (double)g->done / 1e6, (double)g->total / 1e6);
        g->next_report += g->total / 10 + 1;
    }
    return RF_OK;
}

static rf_status rf__hip_put_vec(rf__hip_model *g, const float *v, int64_t n, float **dst) {
    void *p;
    rf_status s = rf__hip_put(g, v, (uint64_t)n * sizeof(float), &p);
    *dst = (float *)p;
    return s;
}

static rf_status rf__hip_put_mat(rf__hip_model *g, const rf__mat *w, int64_t ne2, rf__gmat *out) {
    void *p;
    rf_status s;
    memset(out, 0, sizeof *out);
    if (!w->data || (ne2 > 1 && g->moe_cpu)) return RF_OK; /* experts stay in host memory */
    if (!rf__hip_type_ok(w->type))
        return rf__err(RF_ERR_UNSUPPORTED, "GPU: tensor type %s has no GPU kernel", rf_type_name(w->type));
    out->type = w->type;
    out->ne0 = w->ne0;
    out->ne1 = w->ne1;
    out->row_bytes = w->row_bytes;
    out->stride = w->row_bytes * (uint64_t)w->ne1;
    s = rf__hip_put(g, w->data, out->stride * (uint64_t)ne2, &p);
    out->w = p;
    return s;
}

static rf_status rf__hip_place(rf__hip_model *g, const rf_model *m) {
    const int64_t d = m->n_embd, q = m->n_head * m->head_dim, kv = m->n_head_kv * m->head_dim, ne = m->n_expert;
    rf_status s;
    int64_t il;
#define RF__TRY(x) do { if ((s = (x)) != RF_OK) return s; } while (0)
    if (g->io) {
        RF__TRY(rf__hip_put_mat(g, &m->tok_embd, 1, &g->tok_embd));
        if (m->output.data == m->tok_embd.data) g->output = g->tok_embd;
        else RF__TRY(rf__hip_put_mat(g, &m->output, 1, &g->output));
        RF__TRY(rf__hip_put_vec(g, m->out_norm, d, &g->out_norm));
    }
    RF__TRY(rf__hip_put_vec(g, m->rope_freqs, m->n_rot / 2, &g->rope_freqs));
    for (il = 0; il < m->n_layer; il++) {
        const rf__layer *L = &m->layers[il];
        rf__glayer *G = &g->layers[il];
        if (g->slot[il] < 0) continue; /* the CPU runs it */
        RF__TRY(rf__hip_put_vec(g, L->attn_norm, d, &G->attn_norm));
        RF__TRY(rf__hip_put_vec(g, L->ffn_norm, d, &G->ffn_norm));
        RF__TRY(rf__hip_put_vec(g, L->post_attn_norm, d, &G->post_attn_norm));
        RF__TRY(rf__hip_put_vec(g, L->post_ffn_norm, d, &G->post_ffn_norm));
        RF__TRY(rf__hip_put_vec(g, L->q_norm, m->head_dim, &G->q_norm));
        RF__TRY(rf__hip_put_vec(g, L->k_norm, m->head_dim, &G->k_norm));
        RF__TRY(rf__hip_put_vec(g, L->bq, q, &G->bq));
        RF__TRY(rf__hip_put_vec(g, L->bk, kv, &G->bk));
        RF__TRY(rf__hip_put_vec(g, L->bv, kv, &G->bv));
        RF__TRY(rf__hip_put_mat(g, &L->wq, 1, &G->wq));
        RF__TRY(rf__hip_put_mat(g, &L->wk, 1, &G->wk));
        RF__TRY(rf__hip_put_mat(g, &L->wv, 1, &G->wv));
        RF__TRY(rf__hip_put_mat(g, &L->wqkv, 1, &G->wqkv));
        RF__TRY(rf__hip_put_mat(g, &L->wo, 1, &G->wo));
        RF__TRY(rf__hip_put_mat(g, &L->w_gate, 1, &G->w_gate));
        RF__TRY(rf__hip_put_mat(g, &L->w_up, 1, &G->w_up));
        RF__TRY(rf__hip_put_mat(g, &L->w_down, 1, &G->w_down));
        if (!g->moe_cpu) RF__TRY(rf__hip_put_mat(g, &L->moe_router, 1, &G->moe_router));
        RF__TRY(rf__hip_put_mat(g, &L->moe_gate, ne, &G->moe_gate));
        RF__TRY(rf__hip_put_mat(g, &L->moe_up, ne, &G->moe_up));
        RF__TRY(rf__hip_put_mat(g, &L->moe_down, ne, &G->moe_down));
    }
#undef RF__TRY
    return RF_OK;
}

static void rf__hip_model_free(struct rf__hip_model *g) {
    if (!g) return;
    rf_hip_buf_free(g->weights);
    rf_hip_close(g->dev);
    RF_FREE(g->layers);
    RF_FREE(g->slot);
    RF_FREE(g);
}

/* The host-side shell of placement p: the slot map and the flags, no device, no weights. */
static rf__hip_model *rf__hip_shell(const rf_model *m, const rf__place *p) {
    rf__hip_model *g = RF__NEWZ(rf__hip_model, 1);
    int64_t l;
    if (!g) return NULL;
    if (!(g->layers = RF__NEWZ(rf__glayer, m->n_layer)) || !(g->slot = RF__NEW(int32_t, m->n_layer))) {
        rf__hip_model_free(g);
        return NULL;
    }
    for (l = 0; l < m->n_layer; l++) g->slot[l] = p->gpu[l] ? (int32_t)g->n_slot++ : -1;
    g->io = p->io;
    g->moe_cpu = p->moe_cpu;
    g->log = &m->log;
    return g;
}

/* The weight bytes placement p puts on the GPU, without a device (the sizing pass of
   rf__hip_place); RF_ERR_UNSUPPORTED when one of its tensors has a type with no GPU kernel. */
static rf_status rf__hip_weight_bytes(const rf_model *m, const rf__place *p, uint64_t *bytes) {
    rf__hip_model *g = rf__hip_shell(m, p);
    rf_status s;
    *bytes = 0;
    if (!g) return rf__err(RF_ERR_OOM, "GPU: out of host memory");
    s = rf__hip_place(g, m);
    *bytes = g->total;
    rf__hip_model_free(g);
    return s;
}

/* Free and total memory of a device (opened and closed again); nonzero and err when none. */
static int rf__hip_probe(int32_t device, uint64_t *free_mem, uint64_t *total_mem, char *err, size_t err_len) {
    rf_hip_dev *d;
    rf_hip_info info;
    if (rf_hip_open(device, &d, err, err_len)) return 1;
    rf_hip_get_info(d, &info);
    rf_hip_close(d);
    *free_mem = info.free_mem;
    *total_mem = info.total_mem;
    return 0;
}

/* The weights of placement p (sched.c's choice) on device `device`. A type without a GPU kernel
   is RF_ERR_UNSUPPORTED, no device or no room RF_ERR_DEVICE: sched.c falls back from both. */
static rf_status rf__hip_model_new(rf_model *m, const rf__place *p, int32_t device, struct rf__hip_model **out) {
    rf__hip_model *g;
    rf_hip_info info;
    char err[256];
    rf_status s;
    *out = NULL;
    if (!(g = rf__hip_shell(m, p))) return rf__err(RF_ERR_OOM, "GPU: out of host memory");
    g->device = device;
    if (rf_hip_open(device, &g->dev, err, sizeof err)) {
        rf__hip_model_free(g);
        return rf__err(RF_ERR_DEVICE, "GPU: cannot open device %d: %s", (int)device, err);
    }
    rf_hip_get_info(g->dev, &info);
    rf__log(&m->log, RF_LOG_INFO, "GPU %d: %s (%s), %d CUs, wave %d, %zu KB LDS per block, matrix cores %s, %.1f of %.1f GB free",
            (int)device, info.name, info.arch, info.n_cu, info.wave, info.shared_per_block / 1024,
            info.matrix_cores ? "yes (unused yet)" : "no", (double)info.free_mem / 1e9, (double)info.total_mem / 1e9);
    if ((s = rf__hip_place(g, m)) != RF_OK) { /* sizing pass; also checks every type */
        rf__hip_model_free(g);
        return s;
    }
    if (rf_hip_buf_new(g->dev, (size_t)g->total, &g->weights)) {
        s = rf__err(RF_ERR_DEVICE, "GPU: the weights (%.1f MB) do not fit: %s", (double)g->total / 1e6,
                    rf_hip_error(g->dev));
        rf__hip_model_free(g);
        return s;
    }
    if ((s = rf__hip_place(g, m)) != RF_OK) {
        rf__hip_model_free(g);
        return s;
    }
    *out = g;
    return RF_OK;
}

static void rf__hip_ctx_free(struct rf__hip_ctx *c) {
    if (!c) return;
    rf_hip_host_free(c->dev, c->host_io);
    rf_hip_buf_free(c->kv);
    rf_hip_buf_free(c->scratch);
    rf_hip_close(c->dev);
    RF_FREE(c);
}

static float *rf__hip_f32(rf_hip_buf *b, int64_t n) { return (float *)rf_hip_buf_alloc(b, sizeof(float) * (size_t)(n > 0 ? n : 1), 256); }

/* Device bytes of a context: the f16 KV cache of n_layer layers over n_ctx positions, and the
   scratch (x xb xb2 q kn vn qkv hb hb2 xq router moe_y, each [B][width], plus logits and index
   arrays). sched.c's auto-fit counts with this too. */
static void rf__hip_ctx_bytes(const rf_model *m, int64_t n_ctx, int64_t n_layer, uint64_t *kv_bytes, uint64_t *scratch_bytes) {
    const int64_t d = m->n_embd, qd = m->n_head * m->head_dim, kvd = m->n_head_kv * m->head_dim, B = RF__HIP_BATCH;
    const int64_t wide = RF__MAX(RF__MAX(d, qd), 2 * m->n_ff), nx = RF__MAX(m->n_expert_used, 1);
    *kv_bytes = 2 * (uint64_t)n_layer * (uint64_t)n_ctx * (uint64_t)kvd * sizeof(uint16_t) + 512;
    *scratch_bytes = sizeof(float) * (uint64_t)B * (uint64_t)(3 * RF__MAX(d, qd) + qd + 2 * kvd + qd + 2 * kvd + 4 * m->n_ff + wide +
                                                              RF__MAX(m->n_expert, 1) + nx + d) +
                     sizeof(float) * (uint64_t)m->n_vocab + sizeof(int32_t) * (uint64_t)B * (1 + (uint64_t)nx) + 21 * 256;
}

static rf_status rf__hip_ctx_new(const rf_model *m, int32_t n_ctx, struct rf__hip_ctx **out) {
    const rf__hip_model *g = m->gpu;
    const int64_t d = m->n_embd, qd = m->n_head * m->head_dim, kvd = m->n_head_kv * m->head_dim, B = RF__HIP_BATCH;
    const int64_t wide = RF__MAX(RF__MAX(d, qd), 2 * m->n_ff), nx = RF__MAX(m->n_expert_used, 1);
    rf__hip_ctx *c;
    char err[256];
    uint64_t kv_bytes, scratch_bytes;
    *out = NULL;
    if (!g) return RF_OK;
    if (!(c = RF__NEWZ(rf__hip_ctx, 1))) return rf__err(RF_ERR_OOM, "GPU: out of host memory");
    c->m = m;
    c->n_ctx = n_ctx;
    c->kv_layer = (uint64_t)n_ctx * (uint64_t)kvd;
    if (rf_hip_open(g->device, &c->dev, err, sizeof err)) {
        RF_FREE(c);
        return rf__err(RF_ERR_DEVICE, "GPU: cannot open device %d: %s", g->device, err);
    }
    rf__hip_ctx_bytes(m, n_ctx, g->n_slot, &kv_bytes, &scratch_bytes);
    if (rf_hip_buf_new(c->dev, (size_t)kv_bytes, &c->kv) || rf_hip_buf_new(c->dev, (size_t)scratch_bytes, &c->scratch)) {
        rf_status s = rf__err(RF_ERR_DEVICE, "GPU: KV cache (%.1f MB) and scratch (%.1f MB) do not fit: %s",
                              (double)kv_bytes / 1e6, (double)scratch_bytes / 1e6, rf_hip_error(c->dev));
        rf__hip_ctx_free(c);
        return s;
    }
    c->k = (uint16_t *)rf_hip_buf_alloc(c->kv, sizeof(uint16_t) * (size_t)(g->n_slot * (int64_t)c->kv_layer), 256);
    c->v = (uint16_t *)rf_hip_buf_alloc(c->kv, sizeof(uint16_t) * (size_t)(g->n_slot * (int64_t)c->kv_layer), 256);
    c->x = rf__hip_f32(c->scratch, B * RF__MAX(d, qd));
    c->xb = rf__hip_f32(c->scratch, B * RF__MAX(d, qd));
    c->xb2 = rf__hip_f32(c->scratch, B * RF__MAX(d, qd));
    c->q = rf__hip_f32(c->scratch, B * qd);
    c->kn = rf__hip_f32(c->scratch, B * kvd);
    c->vn = rf__hip_f32(c->scratch, B * kvd);
    c->qkv = rf__hip_f32(c->scratch, B * (qd + 2 * kvd));
    c->hb = rf__hip_f32(c->scratch, B * 2 * m->n_ff);
    c->hb2 = rf__hip_f32(c->scratch, B * 2 * m->n_ff);
    c->xq = rf__hip_f32(c->scratch, B * wide);
    c->router = rf__hip_f32(c->scratch, B * RF__MAX(m->n_expert, 1));
    c->moe_w = rf__hip_f32(c->scratch, B * nx);
    c->moe_y = rf__hip_f32(c->scratch, B * d);
    c->logits = rf__hip_f32(c->scratch, m->n_vocab);
    c->ids = (int32_t *)rf_hip_buf_alloc(c->scratch, sizeof(int32_t) * (size_t)B, 256);
    c->moe_ids = (int32_t *)rf_hip_buf_alloc(c->scratch, sizeof(int32_t) * (size_t)(B * nx), 256);
    c->pick_out = (int32_t *)rf_hip_buf_alloc(c->scratch, sizeof(int32_t) * 2, 256);
    if (!c->pick_out || !c->k || !c->v || !c->moe_ids || !c->ids || !c->logits || !c->moe_y || !c->moe_w || !c->router || !c->xq ||
        !c->hb2 || !c->hb || !c->qkv || !c->vn || !c->kn || !c->q || !c->xb2 || !c->xb || !c->x) {
        rf__hip_ctx_free(c);
        return rf__err(RF_ERR_DEVICE, "GPU: scratch arena overflow (a bug in its sizing)");
    }
    *out = c;
    return RF_OK;
}

/* y = W x for n tokens, the activation first rounded like the CPU's (see the top of the file). */
static int rf__hip_mv(rf__hip_ctx *c, const rf__gmat *w, const float *x, int64_t ldx, float *y, int64_t ldy, int64_t n,
                      const int32_t *expert) {
    rf_type at = rf_type_get((uint32_t)w->type)->vec_dot_type;
    if (at != RF_TYPE_F32) {
        int e = rf_hip_quant_act(c->dev, (int)at, x, ldx, c->xq, w->ne0, n);
        if (e) return e;
        x = c->xq;
        ldx = w->ne0;
    }
    return rf_hip_gemv(c->dev, (int)w->type, w->w, w->ne0, w->ne1, w->row_bytes, x, ldx, y, ldy, n, expert, w->stride);
}

/* One batch of n <= RF__HIP_BATCH tokens at positions pos..pos + n - 1 through layers [l0, l1):
   the equations of forward.c's rf__forward, every line a kernel. tokens: embed them first (else
   sched.c has put the activations in c->x); logits: the output head last. Returns 0 or a device
   error code. */
static int rf__hip_batch(rf__hip_ctx *c, const int32_t *tokens, int64_t n, int32_t pos, int64_t l0, int64_t l1, float *logits) {
    const rf_model *m = c->m;
    const rf__hip_model *g = m->gpu;
    rf_hip_dev *dv = c->dev;
    const int64_t d = m->n_embd, hd = m->head_dim, nh = m->n_head, nkv = m->n_head_kv, nff = m->n_ff;
    const int64_t qd = nh * hd, kvd = nkv * hd;
    const int neox = (m->arch->flags & RF__ARCH_NEOX) != 0, gelu = (m->arch->flags & RF__ARCH_GELU) != 0;
    int64_t l, t, k;
    int e = 0;
#define RF__H(x) do { if ((e = (x)) != 0) return e; } while (0)
    if (tokens) {
        RF__H(rf_hip_upload(dv, c->ids, tokens, sizeof(int32_t) * (size_t)n));
        RF__H(rf_hip_embed(dv, c->x, d, (int)g->tok_embd.type, g->tok_embd.w, d, g->tok_embd.row_bytes, c->ids, n, m->embed_scale));
    }
    for (l = l0; l < l1; l++) {
        const rf__layer *L = &m->layers[l];
        const rf__glayer *G = &g->layers[l];
        float *q = c->q, *kk = c->kn, *vv = c->vn;
        int64_t ldq = qd, ldk = kvd;
        uint16_t *kc = c->k + (uint64_t)g->slot[l] * c->kv_layer, *vc = c->v + (uint64_t)g->slot[l] * c->kv_layer;

        RF__H(rf_hip_rmsnorm(dv, c->xb, c->x, G->attn_norm, d, n, m->rms_eps));
        if (G->wqkv.w) { /* q, k, v stacked in one output row */
            RF__H(rf__hip_mv(c, &G->wqkv, c->xb, d, c->qkv, qd + 2 * kvd, n, NULL));
            q = c->qkv, kk = c->qkv + qd, vv = c->qkv + qd + kvd;
            ldq = ldk = qd + 2 * kvd;
        } else {
            RF__H(rf__hip_mv(c, &G->wq, c->xb, d, q, qd, n, NULL));
            RF__H(rf__hip_mv(c, &G->wk, c->xb, d, kk, kvd, n, NULL));
            RF__H(rf__hip_mv(c, &G->wv, c->xb, d, vv, kvd, n, NULL));
        }
        if (G->bq) RF__H(rf_hip_add(dv, q, ldq, G->bq, 0, qd, n, 1.0f, NULL, 0, 0));
        if (G->bk) RF__H(rf_hip_add(dv, kk, ldk, G->bk, 0, kvd, n, 1.0f, NULL, 0, 0));
        if (G->bv) RF__H(rf_hip_add(dv, vv, ldk, G->bv, 0, kvd, n, 1.0f, NULL, 0, 0));
        for (t = 0; t < n && (G->q_norm || G->k_norm); t++) { /* per head; one launch when rows are dense */
            const int64_t rows = ldq == qd ? n : 1;
            if (G->q_norm) RF__H(rf_hip_rmsnorm(dv, q + t * ldq, q + t * ldq, G->q_norm, hd, rows * nh, m->rms_eps));
            if (G->k_norm) RF__H(rf_hip_rmsnorm(dv, kk + t * ldk, kk + t * ldk, G->k_norm, hd, rows * nkv, m->rms_eps));
            if (rows == n) break;
        }
        RF__H(rf_hip_rope(dv, q, ldq, n, nh, hd, m->n_rot, pos, L->rope_base, L->rope_scale, g->rope_freqs, neox));
        RF__H(rf_hip_rope(dv, kk, ldk, n, nkv, hd, m->n_rot, pos, L->rope_base, L->rope_scale, g->rope_freqs, neox));
        RF__H(rf_hip_kv_store(dv, kc, vc, kk, vv, ldk, kvd, pos, n));
        RF__H(rf_hip_attention(dv, c->xb2, q, ldq, kc, vc, n, nh, nkv, hd, pos, L->sliding ? m->sliding_window : 0,
                               m->attn_scale));
        RF__H(rf__hip_mv(c, &G->wo, c->xb2, qd, c->xb, d, n, NULL));
        if (G->post_attn_norm) RF__H(rf_hip_rmsnorm(dv, c->xb, c->xb, G->post_attn_norm, d, n, m->rms_eps));
        RF__H(rf_hip_add(dv, c->x, d, c->xb, d, d, n, 1.0f, NULL, 0, 0));

        RF__H(rf_hip_rmsnorm(dv, c->xb, c->x, G->ffn_norm, d, n, m->rms_eps));
        if (m->n_expert > 0 && g->moe_cpu) { /* the experts are in host memory: the CPU runs them */
            RF__H(rf_hip_download(dv, c->host_io, c->xb, sizeof(float) * (size_t)(n * d)));
            c->host_moe(c->host_user, l, c->host_io, n);
            RF__H(rf_hip_upload_pinned(dv, c->xb2, c->host_io, sizeof(float) * (size_t)(n * d)));
        } else if (m->n_expert > 0) { /* route on the device; each token's experts picked by index there */
            const int64_t K = m->n_expert_used;
            RF__H(rf__hip_mv(c, &G->moe_router, c->xb, d, c->router, m->n_expert, n, NULL));
            RF__H(rf_hip_moe_route(dv, c->router, m->n_expert, m->n_expert, K, n, c->moe_ids, c->moe_w));
            RF__H(rf_hip_memset(dv, c->xb2, 0, sizeof(float) * (size_t)(n * d)));
            for (t = 0; t < n; t++)
                for (k = 0; k < K; k++) {
                    const int32_t *ex = c->moe_ids + t * K + k;
                    RF__H(rf__hip_mv(c, &G->moe_gate, c->xb + t * d, d, c->hb, nff, 1, ex));
                    RF__H(rf__hip_mv(c, &G->moe_up, c->xb + t * d, d, c->hb2, nff, 1, ex));
                    RF__H(rf_hip_glu(dv, c->hb, nff, c->hb, nff, c->hb2, nff, nff, 1, gelu));
                    RF__H(rf__hip_mv(c, &G->moe_down, c->hb, nff, c->moe_y, d, 1, ex));
                    RF__H(rf_hip_add(dv, c->xb2 + t * d, d, c->moe_y, d, d, 1, 1.0f, c->moe_w + t * K, 0, k));
                }
        } else {
            if (G->w_gate.w) {
                RF__H(rf__hip_mv(c, &G->w_gate, c->xb, d, c->hb, nff, n, NULL));
                RF__H(rf__hip_mv(c, &G->w_up, c->xb, d, c->hb2, nff, n, NULL));
                RF__H(rf_hip_glu(dv, c->hb, nff, c->hb, nff, c->hb2, nff, nff, n, gelu));
            } else { /* fused: gate rows first, then up rows */
                RF__H(rf__hip_mv(c, &G->w_up, c->xb, d, c->hb2, 2 * nff, n, NULL));
                RF__H(rf_hip_glu(dv, c->hb, nff, c->hb2, 2 * nff, c->hb2 + nff, 2 * nff, nff, n, gelu));
            }
            RF__H(rf__hip_mv(c, &G->w_down, c->hb, nff, c->xb2, d, n, NULL));
        }
        if (G->post_ffn_norm) RF__H(rf_hip_rmsnorm(dv, c->xb2, c->xb2, G->post_ffn_norm, d, n, m->rms_eps));
        RF__H(rf_hip_add(dv, c->x, d, c->xb2, d, d, n, 1.0f, NULL, 0, 0));
    }
    if (logits) {
        RF__H(rf_hip_rmsnorm(dv, c->xb, c->x + (n - 1) * d, g->out_norm, d, 1, m->rms_eps));
        RF__H(rf__hip_mv(c, &g->output, c->xb, d, c->logits, m->n_vocab, 1, NULL));
        if (c->pick_armed) { /* 8 bytes back instead of n_vocab floats */
            RF__H(rf_hip_sample(dv, c->logits, m->n_vocab, c->pick.top_k, c->pick.top_p, c->pick.min_p, c->pick.temperature,
                                c->pick_u, c->pick_out));
            RF__H(rf_hip_download(dv, c->pick_res, c->pick_out, sizeof c->pick_res));
            c->pick_done = 1;
        } else {
            RF__H(rf_hip_download(dv, logits, c->logits, sizeof(float) * (size_t)m->n_vocab));
        }
    } else {
        RF__H(rf_hip_sync(dv));
    }
#undef RF__H
    return 0;
}

/* rf_ctx_decode on the GPU: tokens (already validated) at pos, pos + 1, ...; the last one's
   logits into `logits` (n_vocab floats on the host). */
static rf_status rf__hip_decode(struct rf__hip_ctx *c, const int32_t *tokens, int32_t n, int32_t pos, float *logits) {
    int32_t i0;
    for (i0 = 0; i0 < n; i0 += RF__HIP_BATCH) {
        const int32_t nb = RF__MIN(RF__HIP_BATCH, n - i0);
        if (rf__hip_batch(c, tokens + i0, nb, pos + i0, 0, c->m->n_layer, i0 + nb == n ? logits : NULL))
            return rf__hip_fail(c->dev, "decode");
    }
    return RF_OK;
}

/* rf_ctx_decode_sample's hook: 1 when the device runs this plan (greedy, or top-k within the
   kernel's bound); the next rf__hip_decode then samples on the device instead of copying the
   logits back. rf__hip_pick_take disarms and says whether the pick was made (token, count of
   candidates). */
static int rf__hip_pick_arm(struct rf__hip_ctx *c, const rf__sample_plan *p, double u) {
    if (p->n_vocab != c->m->n_vocab || (p->temperature > 0.0f && (p->top_k < 1 || p->top_k > RF_HIP_SAMPLE_K_MAX))) return 0;
    c->pick = *p;
    c->pick_u = u;
    c->pick_armed = 1;
    c->pick_done = 0;
    return 1;
}
static int rf__hip_pick_take(struct rf__hip_ctx *c, int32_t *token, int32_t *n_valid) {
    const int done = c->pick_armed && c->pick_done;
    c->pick_armed = c->pick_done = 0;
    *token = c->pick_res[0];
    *n_valid = c->pick_res[1];
    return done;
}

#else /* !ROCMFORGE_HIP: the CPU is all there is */

struct rf__hip_model { int unused; };
struct rf__hip_ctx { int unused; };
static rf_status rf__hip_model_new(rf_model *m, const rf__place *p, int32_t device, struct rf__hip_model **out) {
    (void)m, (void)p, (void)device;
    *out = NULL;
    return rf__err(RF_ERR_UNSUPPORTED, "this build has no GPU backend (ROCMFORGE_HIP)");
}
static void rf__hip_model_free(struct rf__hip_model *g) { (void)g; }
static rf_status rf__hip_ctx_new(const rf_model *m, int32_t n_ctx, struct rf__hip_ctx **out) {
    (void)m, (void)n_ctx;
    *out = NULL;
    return RF_OK;
}
static void rf__hip_ctx_free(struct rf__hip_ctx *c) { (void)c; }
static rf_status rf__hip_decode(struct rf__hip_ctx *c, const int32_t *tokens, int32_t n, int32_t pos, float *logits) {
    (void)c, (void)tokens, (void)n, (void)pos, (void)logits;
    return rf__err(RF_ERR_UNSUPPORTED, "this build has no GPU backend");
}
static int rf__hip_pick_arm(struct rf__hip_ctx *c, const rf__sample_plan *p, double u) {
    (void)c, (void)p, (void)u;
    return 0;
}
static int rf__hip_pick_take(struct rf__hip_ctx *c, int32_t *token, int32_t *n_valid) {
    (void)c;
    *token = *n_valid = 0;
    return 0;
}
#endif
