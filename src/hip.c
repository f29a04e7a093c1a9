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
     graph    a one-token step is captured once per context (rf_hip_capture_*) and replayed: the
              token and its position go up as 8 bytes, the ~400 launches of a 7B step go as one

   Activations are rounded through the CPU's q8 formats before each quantized GEMV, so GPU logits
   match the CPU reference to float rounding. Two ways:
     int8     q4_0, q8_0, q4_K, q6_K matrices are packed at upload (rf_hip_pack) and multiplied
              by int8 activations with integer dot products (rf_hip_act_q8 + rf_hip_gemv_q8);
              where a layer's q, k, v (or gate, up) share such a type they become one matrix,
              the RMSNorm and GLU are fused into the activation quantization, and the residual
              add into the GEMV that feeds it
     float    every other type: activations rounded and handed back as floats (rf_hip_quant_act)
              for the dequantizing GEMV (rf_hip_gemv)

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
    int q8;                     /* packed for rf_hip_gemv_q8: its act type (0 q8_0, 1 q8_K); -1 not */
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
    int pack_ok;    /* 0: matrices keep the GGUF layout (the embedding table; RF_GPU_NO_INT8 set) */
    int mma;        /* the device's code has matrix cores: prefill batches use rf_hip_gemm */
    uint8_t *pack;  /* host buffer at upload: [pack_cap] packed matrix, then [pack_cap] its rows */
    uint64_t pack_cap;
};

struct rf__hip_ctx {
    const rf_model *m;
    rf_hip_dev *dev; /* this context's stream */
    rf_hip_buf *kv, *scratch;
    uint16_t *k, *v;
    float *x, *xb, *xb2, *q, *kn, *vn, *qkv, *hb, *hb2, *xq, *router, *moe_w, *moe_y, *logits;
    int32_t *ids, *moe_ids, *pos_dev;
    void *act; /* int8 activations: RF__HIP_BATCH rows of the widest input */
    float *ss; /* decode: the sums of squares beside an RMSNorm's int8 input made by rf_hip_gemv_q8_norm */
    int norm_fuse; /* decode may make the RMSNorms' inputs that way (RF_GPU_NO_NORM_FUSE unset) */
    uint16_t *x16; /* the prefill GEMM's input in f16: as many rows, as wide */
    rf_hip_graph *graph; /* the one-token step, captured on first use */
    int graph_off;       /* capture failed or RF_NO_GRAPH is set: launch one by one */
    int gemm;            /* prefill on the matrix cores (the device has them, RF_GPU_NO_MMA unset) */
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

/* What rf_hip_mma_kind's answer means for the log. */
static const char *rf__hip_mma_name(int kind) {
    return kind == 1 ? "matrix cores (mma.sync)" : kind == 2 ? "matrix cores (MFMA)" : kind == 3 ? "matrix cores (WMMA)" : "the int8 GEMV (no matrix cores)";
}

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

/* Rows of n matrices of one type and width as one matrix, packed for the int8 GEMV when the type
   has it (ws[0] first). Returns 0 when they cannot be one packed matrix. */
static int rf__hip_can_pack(const rf__mat *const *ws, int n) {
    int i;
    if (!ws[0]->data || rf_hip_q8_act_type((int)ws[0]->type) < 0 || ws[0]->ne0 % rf_type_get((uint32_t)ws[0]->type)->block_size) return 0;
    for (i = 1; i < n; i++)
        if (!ws[i]->data || ws[i]->type != ws[0]->type || ws[i]->ne0 != ws[0]->ne0) return 0;
    return 1;
}

static rf_status rf__hip_put_packed(rf__hip_model *g, const rf__mat *const *ws, int n, rf__gmat *out) {
    uint64_t bytes = 0, at = 0;
    int64_t rows = 0;
    void *p;
    int i;
    rf_status s;
    memset(out, 0, sizeof *out);
    for (i = 0; i < n; i++) bytes += ws[i]->row_bytes * (uint64_t)ws[i]->ne1, rows += ws[i]->ne1;
    out->type = ws[0]->type;
    out->ne0 = ws[0]->ne0;
    out->ne1 = rows;
    out->row_bytes = ws[0]->row_bytes;
    out->stride = bytes;
    out->q8 = rf_hip_q8_act_type((int)out->type);
    if (!g->weights) return rf__hip_put(g, ws[0]->data, bytes, &p); /* sizing */
    if (bytes > g->pack_cap) {
        uint8_t *nb = (uint8_t *)realloc(g->pack, (size_t)bytes * 2);
        if (!nb) return rf__err(RF_ERR_OOM, "GPU: out of host memory packing weights (%.1f MB)", (double)bytes * 2 / 1e6);
        g->pack = nb;
        g->pack_cap = bytes;
    }
    for (i = 0; i < n; i++) { /* rows of each, one after the other, then regrouped */
        memcpy(g->pack + g->pack_cap + at, ws[i]->data, (size_t)(ws[i]->row_bytes * (uint64_t)ws[i]->ne1));
        at += ws[i]->row_bytes * (uint64_t)ws[i]->ne1;
    }
    if (rf_hip_pack((int)out->type, g->pack + g->pack_cap, out->ne0, rows, g->pack))
        return rf__err(RF_ERR_UNSUPPORTED, "GPU: cannot pack a %s matrix", rf_type_name(out->type));
    s = rf__hip_put(g, g->pack, bytes, &p);
    out->w = p;
    return s;
}

static rf_status rf__hip_put_mat(rf__hip_model *g, const rf__mat *w, int64_t ne2, rf__gmat *out) {
    void *p;
    rf_status s;
    memset(out, 0, sizeof *out);
    out->q8 = -1;
    if (!w->data || (ne2 > 1 && g->moe_cpu)) return RF_OK; /* experts stay in host memory */
    if (ne2 == 1 && g->pack_ok && rf__hip_can_pack(&w, 1)) return rf__hip_put_packed(g, &w, 1, out);
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
        const int pack_ok = g->pack_ok;
        g->pack_ok = 0; /* the embedding kernel reads the GGUF layout */
        RF__TRY(rf__hip_put_mat(g, &m->tok_embd, 1, &g->tok_embd));
        g->pack_ok = pack_ok;
        if (m->output.data == m->tok_embd.data) g->output = g->tok_embd;
        else RF__TRY(rf__hip_put_mat(g, &m->output, 1, &g->output));
        RF__TRY(rf__hip_put_vec(g, m->out_norm, d, &g->out_norm));
    }
    RF__TRY(rf__hip_put_vec(g, m->rope_freqs, m->n_rot / 2, &g->rope_freqs));
    for (il = 0; il < m->n_layer; il++) {
        const rf__layer *L = &m->layers[il];
        rf__glayer *G = &g->layers[il];
        const rf__mat *qkv[3], *gate_up[2];
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
        qkv[0] = &L->wq, qkv[1] = &L->wk, qkv[2] = &L->wv;
        gate_up[0] = &L->w_gate, gate_up[1] = &L->w_up;
        if (g->pack_ok && rf__hip_can_pack(qkv, 3)) { /* one matrix, one launch: rows q, then k, then v */
            RF__TRY(rf__hip_put_packed(g, qkv, 3, &G->wqkv));
            G->wq.q8 = G->wk.q8 = G->wv.q8 = -1;
        } else {
            RF__TRY(rf__hip_put_mat(g, &L->wq, 1, &G->wq));
            RF__TRY(rf__hip_put_mat(g, &L->wk, 1, &G->wk));
            RF__TRY(rf__hip_put_mat(g, &L->wv, 1, &G->wv));
            RF__TRY(rf__hip_put_mat(g, &L->wqkv, 1, &G->wqkv));
        }
        RF__TRY(rf__hip_put_mat(g, &L->wo, 1, &G->wo));
        if (g->pack_ok && rf__hip_can_pack(gate_up, 2)) { /* gate rows, then up rows: the fused form */
            RF__TRY(rf__hip_put_packed(g, gate_up, 2, &G->w_up));
            G->w_gate.q8 = -1;
        } else {
            RF__TRY(rf__hip_put_mat(g, &L->w_gate, 1, &G->w_gate));
            RF__TRY(rf__hip_put_mat(g, &L->w_up, 1, &G->w_up));
        }
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
    RF_FREE(g->pack);
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
    g->pack_ok = !getenv("RF_GPU_NO_INT8"); /* for measuring what the int8 path buys */
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
    int mma_kind;
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
    mma_kind = rf_hip_mma_kind(g->dev);
    rf__log(&m->log, RF_LOG_INFO, "GPU %d: %s (%s), %d CUs, wave %d, %zu KB LDS per block, prefill on %s, %.1f of %.1f GB free",
            (int)device, info.name, info.arch, info.n_cu, info.wave, info.shared_per_block / 1024,
            rf__hip_mma_name(mma_kind), (double)info.free_mem / 1e9, (double)info.total_mem / 1e9);
    g->mma = mma_kind > 0;
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
    RF_FREE(g->pack);
    g->pack = NULL;
    g->pack_cap = 0;
    *out = g;
    return RF_OK;
}

static void rf__hip_ctx_free(struct rf__hip_ctx *c) {
    if (!c) return;
    rf_hip_graph_free(c->graph);
    rf_hip_host_free(c->dev, c->host_io);
    rf_hip_buf_free(c->kv);
    rf_hip_buf_free(c->scratch);
    rf_hip_close(c->dev);
    RF_FREE(c);
}

static float *rf__hip_f32(rf_hip_buf *b, int64_t n) { return (float *)rf_hip_buf_alloc(b, sizeof(float) * (size_t)(n > 0 ? n : 1), 256); }

/* Device bytes of a context: the f16 KV cache of n_layer layers over n_ctx positions, and the
   scratch (x xb xb2 q kn vn qkv hb hb2 xq router moe_y, each [B][width], plus logits, index
   arrays, the int8 and the f16 activations). sched.c's auto-fit counts with this too. */
static void rf__hip_ctx_bytes(const rf_model *m, int64_t n_ctx, int64_t n_layer, uint64_t *kv_bytes, uint64_t *scratch_bytes) {
    const int64_t d = m->n_embd, qd = m->n_head * m->head_dim, kvd = m->n_head_kv * m->head_dim, B = RF__HIP_BATCH;
    const int64_t wide = RF__MAX(RF__MAX(d, qd), 2 * m->n_ff), nx = RF__MAX(m->n_expert_used, 1);
    *kv_bytes = 2 * (uint64_t)n_layer * (uint64_t)n_ctx * (uint64_t)kvd * sizeof(uint16_t) + 512;
    *scratch_bytes = sizeof(float) * (uint64_t)B * (uint64_t)(3 * RF__MAX(d, qd) + qd + 2 * kvd + qd + 2 * kvd + 4 * m->n_ff + wide +
                                                              RF__MAX(m->n_expert, 1) + nx + d) +
                     sizeof(float) * (uint64_t)m->n_vocab + sizeof(int32_t) * (uint64_t)B * (1 + (uint64_t)nx) +
                     rf_hip_act_q8_bytes(wide, B) + sizeof(uint16_t) * (uint64_t)B * (uint64_t)wide + sizeof(float) * (uint64_t)(d / 32 + 1) +
                     25 * 256;
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
    c->pos_dev = (int32_t *)rf_hip_buf_alloc(c->scratch, sizeof(int32_t), 256);
    c->act = rf_hip_buf_alloc(c->scratch, rf_hip_act_q8_bytes(wide, B), 256);
    c->ss = rf__hip_f32(c->scratch, d / 32 + 1);
    c->x16 = (uint16_t *)rf_hip_buf_alloc(c->scratch, sizeof(uint16_t) * (size_t)(B * wide), 256);
    c->graph_off = getenv("RF_NO_GRAPH") != NULL;
    c->gemm = g->mma && !getenv("RF_GPU_NO_MMA");
    c->norm_fuse = !getenv("RF_GPU_NO_NORM_FUSE"); /* for measuring what it buys */
    if (!c->x16 || !c->act || !c->ss || !c->pos_dev || !c->pick_out || !c->k || !c->v || !c->moe_ids || !c->ids || !c->logits || !c->moe_y || !c->moe_w || !c->router || !c->xq ||
        !c->hb2 || !c->hb || !c->qkv || !c->vn || !c->kn || !c->q || !c->xb2 || !c->xb || !c->x) {
        rf__hip_ctx_free(c);
        return rf__err(RF_ERR_DEVICE, "GPU: scratch arena overflow (a bug in its sizing)");
    }
    *out = c;
    return RF_OK;
}

/* Whether matrix w multiplies a batch of n tokens with the matrix-core GEMM (kernels/gemm.hip):
   from RF__HIP_GEMM_MIN tokens on (below, the GEMV reads the weights once and wins), for rows
   of whole 32-blocks of a quantized type. Its input is plain f32 (normed when asked), rounded to
   f16 in the kernel: finer than the 8 bits the CPU rounds it to for a quantized matrix; float
   matrices (f32, f16, bf16), whose CPU product keeps f32 activations, stay on the GEMV. */
#define RF__HIP_GEMM_MIN 32
static int rf__hip_gemm(const rf__hip_ctx *c, const rf__gmat *w, int64_t n) {
    return c->gemm && n >= RF__HIP_GEMM_MIN && w->ne0 % 32 == 0 && rf_type_get((uint32_t)w->type)->vec_dot_type != RF_TYPE_F32 &&
           rf_hip_gemm_type((int)w->type, w->q8 >= 0);
}

/* The input of a GEMV (n rows of x, ld ldx), made ready for matrix w: for a packed matrix, int8 in
   c->act -- of the RMSNorm of x when norm != NULL, the two launches fused -- and for any other
   quantized type rounded through the CPU's q8 format into c->xq (*x, *ldx then point there).
   For the GEMM: f16 in c->x16. */
static int rf__hip_prep(rf__hip_ctx *c, const rf__gmat *w, const float **x, int64_t *ldx, const float *norm, float *normed,
                        int64_t n) {
    rf_type at = rf_type_get((uint32_t)w->type)->vec_dot_type;
    int e;
    const int gemm = rf__hip_gemm(c, w, n);
    if (w->q8 >= 0 && !gemm) return rf_hip_act_q8(c->dev, w->q8, *x, *ldx, norm, c->m->rms_eps, w->ne0, n, c->act);
    if (norm) { /* the RMSNorm on its own, into `normed` (row length ne0) */
        if ((e = rf_hip_rmsnorm(c->dev, normed, *x, norm, w->ne0, n, c->m->rms_eps)) != 0) return e;
        *x = normed, *ldx = w->ne0;
    }
    if (gemm) return rf_hip_gemm_input(c->dev, c->x16, *x, *ldx, w->ne0, n);
    if (at == RF_TYPE_F32) return 0;
    if ((e = rf_hip_quant_act(c->dev, (int)at, *x, *ldx, c->xq, w->ne0, n)) != 0) return e;
    *x = c->xq, *ldx = w->ne0;
    return 0;
}

/* rf__hip_prep of the normed residual stream c->x again, for a matrix that takes another form. */
static int rf__hip_prep_from(rf__hip_ctx *c, const rf__gmat *w, const float **x, int64_t *ldx, const float *norm, int64_t n) {
    *x = c->x, *ldx = c->m->n_embd;
    return rf__hip_prep(c, w, x, ldx, norm, c->xb, n);
}

/* Whether what rf__hip_prep made ready for matrix a serves matrix b as well. */
static int rf__hip_same_input(const rf__hip_ctx *c, const rf__gmat *a, const rf__gmat *b, int64_t n) {
    const int ga = rf__hip_gemm(c, a, n), gb = rf__hip_gemm(c, b, n);
    if (ga || gb) return ga && gb;
    return a->q8 == b->q8 && (a->q8 >= 0 || rf_type_get((uint32_t)a->type)->vec_dot_type == rf_type_get((uint32_t)b->type)->vec_dot_type);
}

/* y = W x (accumulate: y += W x) for n tokens, x already made ready by rf__hip_prep. */
static int rf__hip_mul(rf__hip_ctx *c, const rf__gmat *w, const float *x, int64_t ldx, float *y, int64_t ldy, int64_t n,
                       const int32_t *expert, int accumulate) {
    int e;
    if (!expert && rf__hip_gemm(c, w, n))
        return rf_hip_gemm(c->dev, (int)w->type, w->q8 >= 0, w->w, w->row_bytes, w->ne0, w->ne1, c->x16, w->ne0, y, ldy, n, accumulate);
    if (w->q8 >= 0) return rf_hip_gemv_q8(c->dev, (int)w->type, w->w, w->ne0, w->ne1, c->act, y, ldy, n, accumulate, NULL, 0.0f);
    if (!accumulate)
        return rf_hip_gemv(c->dev, (int)w->type, w->w, w->ne0, w->ne1, w->row_bytes, x, ldx, y, ldy, n, expert, w->stride);
    if ((e = rf_hip_gemv(c->dev, (int)w->type, w->w, w->ne0, w->ne1, w->row_bytes, x, ldx, c->moe_y, w->ne1, n, expert, w->stride)) != 0)
        return e;
    return rf_hip_add(c->dev, y, ldy, c->moe_y, w->ne1, w->ne1, n, 1.0f, NULL, 0, 0);
}

/* y = W x for n tokens: prepare, multiply. */
static int rf__hip_mv(rf__hip_ctx *c, const rf__gmat *w, const float *x, int64_t ldx, float *y, int64_t ldy, int64_t n,
                      const int32_t *expert) {
    int e = rf__hip_prep(c, w, &x, &ldx, NULL, NULL, n);
    return e ? e : rf__hip_mul(c, w, x, ldx, y, ldy, n, expert, 0);
}

/* One decode token through the stacked gate+up matrix with q8_0 activations: gate+up, the GLU
   and its quantization in one launch (rf_hip_gemv_q8_glu). */
static int rf__hip_glu_one(const rf_model *m, const rf__glayer *G, int64_t n) {
    return m->n_expert == 0 && n == 1 && !G->w_gate.w && G->w_up.q8 == 0 && G->w_up.ne1 == 2 * m->n_ff && G->w_down.q8 == 0 &&
           m->n_ff % 32 == 0;
}

/* One decode token: whether the RMSNorm (weights norm) before matrix w can be left to the GEMV
   into the residual before it (rf_hip_gemv_q8_norm), which needs w to read q8_0 activations. */
static int rf__hip_norm_into(const rf__hip_ctx *c, const rf__gmat *w, const float *norm) {
    return c->norm_fuse && norm && w->w && w->q8 == 0 && w->ne0 == c->m->n_embd && c->m->n_embd % 32 == 0;
}

/* The kernels of one batch of n <= RF__HIP_BATCH tokens at positions pos.. (or, pos_at != NULL,
   at the position in device memory: the captured one-token step) through layers [l0, l1): the
   equations of forward.c's rf__forward, every line a kernel. embed: the token ids in c->ids
   first (else sched.c has put the activations in c->x); logits: the last token's logits into
   c->logits. Queues work only (no waits) unless the CPU runs the experts (moe_cpu), so a step
   without that can be captured. */
static int rf__hip_layers(rf__hip_ctx *c, int64_t n, int32_t pos, const int32_t *pos_at, int64_t l0, int64_t l1, int embed,
                          int logits) {
    const rf_model *m = c->m;
    const rf__hip_model *g = m->gpu;
    rf_hip_dev *dv = c->dev;
    const int64_t d = m->n_embd, hd = m->head_dim, nh = m->n_head, nkv = m->n_head_kv, nff = m->n_ff;
    const int64_t qd = nh * hd, kvd = nkv * hd;
    const int neox = (m->arch->flags & RF__ARCH_NEOX) != 0, gelu = (m->arch->flags & RF__ARCH_GELU) != 0;
    int64_t l, t, k;
    int e = 0;
    /* One decode token's int8 activations: a0 = c->act (the attention's input, then its output,
       wo's input), a1 (the feed-forward's input), a2 (the down projection's). normed: a0 holds
       this layer's attention input already, with its sums of squares in c->ss -- the down
       projection before made it (rf_hip_gemv_q8_norm; the same for a1 and the wo projection). */
    uint8_t *a1 = (uint8_t *)c->act + rf_hip_act_q8_bytes(d, 1), *a2 = a1 + rf_hip_act_q8_bytes(d, 1);
    int normed = 0;
#define RF__H(x) do { if ((e = (x)) != 0) return e; } while (0)
    if (embed)
        RF__H(rf_hip_embed(dv, c->x, d, (int)g->tok_embd.type, g->tok_embd.w, d, g->tok_embd.row_bytes, c->ids, n, m->embed_scale));
    for (l = l0; l < l1; l++) {
        const rf__layer *L = &m->layers[l];
        const rf__glayer *G = &g->layers[l];
        const rf__gmat *w_in = G->wqkv.w ? &G->wqkv : &G->wq;
        const float *xin = c->x;
        float *q = c->q, *kk = c->kn, *vv = c->vn;
        int64_t ldq = qd, ldk = kvd, ldin = d;
        int att_q8, fuse_rope, ffn_normed = 0;
        uint16_t *kc = c->k + (uint64_t)g->slot[l] * c->kv_layer, *vc = c->v + (uint64_t)g->slot[l] * c->kv_layer;

        /* attention: norm (fused into the int8 quantization), q k v, rope, cache, attend */
        if (!normed) RF__H(rf__hip_prep(c, w_in, &xin, &ldin, G->attn_norm, c->xb, n));
        if (G->wqkv.w || n == 1) { /* q, k, v side by side in c->qkv: stacked, or one decode token (see fuse_rope) */
            q = c->qkv, kk = c->qkv + qd, vv = c->qkv + qd + kvd;
            ldq = ldk = qd + 2 * kvd;
        }
        if (G->wqkv.w && normed) {
            RF__H(rf_hip_gemv_q8(dv, (int)G->wqkv.type, G->wqkv.w, G->wqkv.ne0, G->wqkv.ne1, c->act, c->qkv, qd + 2 * kvd, 1, 0, c->ss,
                                 m->rms_eps));
        } else if (G->wqkv.w) { /* q, k, v stacked in one output row */
            RF__H(rf__hip_mul(c, &G->wqkv, xin, ldin, c->qkv, qd + 2 * kvd, n, NULL, 0));
        } else { /* each matrix takes its input in its own form: made again where it differs */
            RF__H(rf__hip_mul(c, &G->wq, xin, ldin, q, qd, n, NULL, 0));
            if (!rf__hip_same_input(c, &G->wq, &G->wk, n)) RF__H(rf__hip_prep_from(c, &G->wk, &xin, &ldin, G->attn_norm, n));
            RF__H(rf__hip_mul(c, &G->wk, xin, ldin, kk, kvd, n, NULL, 0));
            if (!rf__hip_same_input(c, &G->wk, &G->wv, n)) RF__H(rf__hip_prep_from(c, &G->wv, &xin, &ldin, G->attn_norm, n));
            RF__H(rf__hip_mul(c, &G->wv, xin, ldin, vv, kvd, n, NULL, 0));
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
        /* one decode token (q, k, v side by side in c->qkv): RoPE and the cache append ride in the attention's launch below */
        fuse_rope = n == 1;
        if (G->wqkv.w && !fuse_rope) { /* stacked: rotate q and k and append k and v to the cache in one launch */
            RF__H(rf_hip_rope_kv(dv, q, ldq, n, nh, nkv, hd, m->n_rot, pos, pos_at, L->rope_base, L->rope_scale, g->rope_freqs,
                                 neox, kc, vc));
        } else if (!fuse_rope) {
            RF__H(rf_hip_rope(dv, q, ldq, n, nh, hd, m->n_rot, pos, pos_at, L->rope_base, L->rope_scale, g->rope_freqs, neox));
            RF__H(rf_hip_rope(dv, kk, ldk, n, nkv, hd, m->n_rot, pos, pos_at, L->rope_base, L->rope_scale, g->rope_freqs, neox));
            RF__H(rf_hip_kv_store(dv, kc, vc, kk, vv, ldk, kvd, pos, pos_at, n));
        }
        if (rf__hip_gemm(c, w_in, n) && !pos_at && (hd == 64 || hd == 128) && ldq % 4 == 0) { /* with the GEMM, for the same reason */
            att_q8 = 0;
            RF__H(rf_hip_flash_attention(dv, c->xb2, q, ldq, kc, vc, n, nh, nkv, hd, pos, L->sliding ? m->sliding_window : 0,
                                         m->attn_scale));
        } else { /* a q8_0 input of wo is made by the attention itself, one launch fewer */
            att_q8 = G->wo.q8 == 0 && !rf__hip_gemm(c, &G->wo, n) && hd % 32 == 0;
            if (fuse_rope)
                RF__H(rf_hip_attention_rope(dv, c->xb2, c->qkv, kc, vc, nh, nkv, hd, m->n_rot, pos, pos_at, L->rope_base, L->rope_scale,
                                            g->rope_freqs, neox, L->sliding ? m->sliding_window : 0, m->attn_scale,
                                            att_q8 ? c->act : NULL));
            else
                RF__H(rf_hip_attention(dv, c->xb2, q, ldq, kc, vc, n, nh, nkv, hd, pos, pos_at, L->sliding ? m->sliding_window : 0,
                                       m->attn_scale, att_q8 ? c->act : NULL));
        }
        xin = c->xb2, ldin = qd;
        if (!att_q8) RF__H(rf__hip_prep(c, &G->wo, &xin, &ldin, NULL, NULL, n));
        if (G->post_attn_norm) {
            RF__H(rf__hip_mul(c, &G->wo, xin, ldin, c->xb, d, n, NULL, 0));
            RF__H(rf_hip_rmsnorm(dv, c->xb, c->xb, G->post_attn_norm, d, n, m->rms_eps));
            RF__H(rf_hip_add(dv, c->x, d, c->xb, d, d, n, 1.0f, NULL, 0, 0));
        } else if (rf__hip_glu_one(m, G, n) && rf__hip_norm_into(c, &G->w_up, G->ffn_norm) && G->wo.q8 == 0 && G->wo.ne1 == d) {
            /* the residual add and the feed-forward's norm and int8 input, into a1 */
            RF__H(rf_hip_gemv_q8_norm(dv, (int)G->wo.type, G->wo.w, G->wo.ne0, d, c->act, c->x, G->ffn_norm, a1, c->ss));
            ffn_normed = 1;
        } else { /* the residual add folded into the GEMV */
            RF__H(rf__hip_mul(c, &G->wo, xin, ldin, c->x, d, n, NULL, 1));
        }
        normed = 0;

        /* feed-forward: norm (fused), gate and up, GLU, down */
        if (m->n_expert > 0 && g->moe_cpu) { /* the experts are in host memory: the CPU runs them */
            RF__H(rf_hip_rmsnorm(dv, c->xb, c->x, G->ffn_norm, d, n, m->rms_eps));
            RF__H(rf_hip_download(dv, c->host_io, c->xb, sizeof(float) * (size_t)(n * d)));
            c->host_moe(c->host_user, l, c->host_io, n);
            RF__H(rf_hip_upload_pinned(dv, c->xb2, c->host_io, sizeof(float) * (size_t)(n * d)));
        } else if (m->n_expert > 0) { /* route on the device; each token's experts picked by index there */
            const int64_t K = m->n_expert_used;
            RF__H(rf_hip_rmsnorm(dv, c->xb, c->x, G->ffn_norm, d, n, m->rms_eps));
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
            const rf__gmat *wg = G->w_gate.w ? &G->w_gate : &G->w_up;
            xin = c->x, ldin = d;
            if (!ffn_normed) RF__H(rf__hip_prep(c, wg, &xin, &ldin, G->ffn_norm, c->xb, n));
            if (rf__hip_glu_one(m, G, n)) { /* into a2, which the down projection reads */
                const rf__glayer *N = l + 1 < l1 ? &g->layers[l + 1] : NULL;
                const float *next_norm = N && N->wqkv.w && rf__hip_norm_into(c, &N->wqkv, N->attn_norm) ? N->attn_norm
                                         : !N && logits && rf__hip_norm_into(c, &g->output, g->out_norm) ? g->out_norm
                                                                                                         : NULL;
                RF__H(rf_hip_gemv_q8_glu(dv, (int)G->w_up.type, G->w_up.w, G->w_up.ne0, nff, ffn_normed ? a1 : c->act,
                                         ffn_normed ? c->ss : NULL, m->rms_eps, gelu, a2));
                if (!G->post_ffn_norm && next_norm && G->w_down.ne1 == d) { /* and the next norm's int8 input, into a0 */
                    RF__H(rf_hip_gemv_q8_norm(dv, (int)G->w_down.type, G->w_down.w, G->w_down.ne0, d, a2, c->x, next_norm, c->act, c->ss));
                    normed = 1;
                    continue;
                }
                RF__H(rf_hip_gemv_q8(dv, (int)G->w_down.type, G->w_down.w, G->w_down.ne0, G->w_down.ne1, a2,
                                     G->post_ffn_norm ? c->xb2 : c->x, d, 1, !G->post_ffn_norm, NULL, 0.0f));
                if (!G->post_ffn_norm) continue;
            } else {
                const float *gp = c->hb, *up = c->hb2;
                int64_t ldg = nff;
                if (G->w_gate.w) {
                    RF__H(rf__hip_mul(c, &G->w_gate, xin, ldin, c->hb, nff, n, NULL, 0));
                    if (!rf__hip_same_input(c, &G->w_gate, &G->w_up, n)) RF__H(rf__hip_prep_from(c, &G->w_up, &xin, &ldin, G->ffn_norm, n));
                    RF__H(rf__hip_mul(c, &G->w_up, xin, ldin, c->hb2, nff, n, NULL, 0));
                } else { /* fused: gate rows first, then up rows */
                    RF__H(rf__hip_mul(c, &G->w_up, xin, ldin, c->hb2, 2 * nff, n, NULL, 0));
                    gp = c->hb2, up = c->hb2 + nff, ldg = 2 * nff;
                }
                xin = c->hb, ldin = nff;
                if (G->w_down.q8 >= 0 && !rf__hip_gemm(c, &G->w_down, n)) { /* the GLU fused into the int8 quantization */
                    RF__H(rf_hip_glu_q8(dv, G->w_down.q8, gp, ldg, up, ldg, nff, n, gelu, c->act));
                } else {
                    RF__H(rf_hip_glu(dv, c->hb, nff, gp, ldg, up, ldg, nff, n, gelu));
                    RF__H(rf__hip_prep(c, &G->w_down, &xin, &ldin, NULL, NULL, n));
                }
                if (G->post_ffn_norm) {
                    RF__H(rf__hip_mul(c, &G->w_down, xin, ldin, c->xb2, d, n, NULL, 0));
                } else {
                    RF__H(rf__hip_mul(c, &G->w_down, xin, ldin, c->x, d, n, NULL, 1));
                    continue;
                }
            }
        }
        if (G->post_ffn_norm) RF__H(rf_hip_rmsnorm(dv, c->xb2, c->xb2, G->post_ffn_norm, d, n, m->rms_eps));
        RF__H(rf_hip_add(dv, c->x, d, c->xb2, d, d, n, 1.0f, NULL, 0, 0));
    }
    if (logits) {
        const float *xin = c->x + (n - 1) * d;
        int64_t ldin = d;
        if (normed) { /* the last down projection made the output norm's int8 input */
            RF__H(rf_hip_gemv_q8(dv, (int)g->output.type, g->output.w, g->output.ne0, g->output.ne1, c->act, c->logits, m->n_vocab, 1, 0,
                                 c->ss, m->rms_eps));
        } else {
            RF__H(rf__hip_prep(c, &g->output, &xin, &ldin, g->out_norm, c->xb, 1));
            RF__H(rf__hip_mul(c, &g->output, xin, ldin, c->logits, m->n_vocab, 1, NULL, 0));
        }
    }
#undef RF__H
    return 0;
}

/* One batch through layers [l0, l1): the token ids up and embedded (tokens != NULL; else sched.c
   has put the activations in c->x), the layers, then the logits or the device's pick back
   (logits != NULL). A one-token step through the whole model runs from its graph, captured on
   first use. Returns 0 or a device error code. */
static int rf__hip_batch(rf__hip_ctx *c, const int32_t *tokens, int64_t n, int32_t pos, int64_t l0, int64_t l1, float *logits) {
    const rf_model *m = c->m;
    rf_hip_dev *dv = c->dev;
    int e;
    if (n == 1 && tokens && logits && l0 == 0 && l1 == m->n_layer && !m->gpu->moe_cpu && !c->graph_off) {
        if ((e = rf_hip_upload_async(dv, c->ids, tokens, sizeof(int32_t))) != 0 ||
            (e = rf_hip_upload_async(dv, c->pos_dev, &pos, sizeof(int32_t))) != 0)
            return e;
        if (!c->graph) {
            if ((e = rf_hip_capture_begin(dv)) != 0) return e;
            e = rf__hip_layers(c, 1, 0, c->pos_dev, 0, m->n_layer, 1, 1);
            if (rf_hip_capture_end(dv, &c->graph) || e) { /* capture is not for this device or runtime: go on without */
                rf__log(&m->log, RF_LOG_WARN, "GPU: cannot capture the decode step as a graph (%s); launching kernels one by one",
                        rf_hip_error(dv));
                rf_hip_graph_free(c->graph);
                c->graph = NULL;
                c->graph_off = 1;
                if ((e = rf__hip_layers(c, 1, pos, NULL, 0, m->n_layer, 1, 1)) != 0) return e;
            }
        }
        if (c->graph && (e = rf_hip_graph_launch(dv, c->graph)) != 0) return e;
    } else {
        if (tokens && (e = rf_hip_upload(dv, c->ids, tokens, sizeof(int32_t) * (size_t)n)) != 0) return e;
        if ((e = rf__hip_layers(c, n, pos, NULL, l0, l1, tokens != NULL, logits != NULL)) != 0) return e;
    }
    if (!logits) return rf_hip_sync(dv);
    if (c->pick_armed) { /* 8 bytes back instead of n_vocab floats */
        if ((e = rf_hip_sample(dv, c->logits, m->n_vocab, c->pick.top_k, c->pick.top_p, c->pick.min_p, c->pick.temperature,
                               c->pick_u, c->pick_out)) != 0 ||
            (e = rf_hip_download(dv, c->pick_res, c->pick_out, sizeof c->pick_res)) != 0)
            return e;
        c->pick_done = 1;
        return 0;
    }
    return rf_hip_download(dv, logits, c->logits, sizeof(float) * (size_t)m->n_vocab);
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

RF_API rf_status rf_gpu_read_bandwidth(int32_t device, uint64_t bytes, int reps, double *gb_per_s) {
    rf_hip_dev *d;
    char err[256];
    rf_status s = RF_OK;
    if (!gb_per_s) return rf__err(RF_ERR_INVALID_ARG, "rf_gpu_read_bandwidth: gb_per_s is NULL");
    *gb_per_s = 0;
    if (rf_hip_open(device, &d, err, sizeof err)) return rf__err(RF_ERR_DEVICE, "GPU: cannot open device %d: %s", (int)device, err);
    if (rf_hip_read_bandwidth(d, (size_t)bytes, reps, gb_per_s)) s = rf__hip_fail(d, "measuring bandwidth");
    rf_hip_close(d);
    return s;
}

#else /* !ROCMFORGE_HIP: the CPU is all there is */

RF_API rf_status rf_gpu_read_bandwidth(int32_t device, uint64_t bytes, int reps, double *gb_per_s) {
    (void)device, (void)bytes, (void)reps;
    if (gb_per_s) *gb_per_s = 0;
    return rf__err(RF_ERR_UNSUPPORTED, "this build has no GPU backend (ROCMFORGE_HIP)");
}

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
