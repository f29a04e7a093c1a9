/* rocmforge_hip.h -- the GPU backend of rocmforge, one file, for AMD (hipcc) and NVIDIA (nvcc).

   Do this in *one* source file, compiled by hipcc (-x hip) or nvcc (-x cu):
       #define ROCMFORGE_HIP_IMPLEMENTATION
       #include "rocmforge_hip.h"
   and build the file that defines ROCMFORGE_IMPLEMENTATION with -DROCMFORGE_HIP; link both.
   Without ROCMFORGE_HIP_IMPLEMENTATION this file is the C declarations below: rocmforge.h
   includes it that way, so the engine itself stays plain C11.

       hipcc -O2 -x hip --offload-arch=gfx90a --offload-arch=gfx1030 -c rf_hip.cpp
       nvcc  -O2 -x cu  -arch=sm_90 -c rf_hip.cpp

   The host API is extern "C". Every call that can fail returns 0 or the runtime's error code
   and leaves the runtime's message in rf_hip_error(dev). Handles that own device memory
   (rf_hip_dev, rf_hip_buf) are opaque pointers: they cannot be copied, only passed, and each is
   freed exactly once by its _close / _free.

   Memory: one rf_hip_buf per purpose (weights, KV cache, scratch), each one allocation carved
   by rf_hip_buf_alloc (a bump arena with alignment). Uploads go through two pinned staging
   buffers so the copy of one chunk overlaps the memcpy into the next. */
#ifndef ROCMFORGE_HIP_H
#define ROCMFORGE_HIP_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rf_hip_dev rf_hip_dev; /* a device, one stream, pinned staging buffers */
typedef struct rf_hip_buf rf_hip_buf; /* one device allocation, carved as an arena */
typedef struct rf_hip_graph rf_hip_graph; /* a captured sequence of launches, replayable */

typedef struct rf_hip_info {
    char name[256];          /* "NVIDIA H100 80GB HBM3", "AMD Instinct MI210", ... */
    char arch[64];           /* "gfx90a", "sm_90" */
    int wave;                /* wavefront / warp width: 64 on CDNA, 32 on RDNA and NVIDIA */
    int n_cu;                /* compute units (SMs) */
    size_t shared_per_block; /* LDS / shared memory a block may use */
    size_t total_mem, free_mem;
    int matrix_cores;        /* the hardware has MFMA (CDNA), WMMA (RDNA3) or mma (NVIDIA sm_70+); rf_hip_mma_kind: what the code uses */
} rf_hip_info;

int rf_hip_device_count(void);
/* err (err_len bytes) receives the runtime's message when the open fails. */
int rf_hip_open(int device, rf_hip_dev **out, char *err, size_t err_len);
void rf_hip_close(rf_hip_dev *d); /* NULL is fine */
const char *rf_hip_error(const rf_hip_dev *d);
void rf_hip_get_info(const rf_hip_dev *d, rf_hip_info *out);

int rf_hip_buf_new(rf_hip_dev *d, size_t bytes, rf_hip_buf **out);
void rf_hip_buf_free(rf_hip_buf *b); /* NULL is fine */
void *rf_hip_buf_alloc(rf_hip_buf *b, size_t bytes, size_t align); /* NULL when full */
size_t rf_hip_buf_used(const rf_hip_buf *b);

/* Host -> device through the pinned staging buffers; the copy is done when this returns. */
int rf_hip_upload(rf_hip_dev *d, void *dst, const void *src, size_t n);
int rf_hip_upload_async(rf_hip_dev *d, void *dst, const void *src, size_t n); /* queued; for a few bytes */
int rf_hip_download(rf_hip_dev *d, void *dst, const void *src, size_t n); /* waits */
/* Pinned (page-locked) host memory, for activations that cross between the CPU and the GPU every
   step (a model split between them): copies to and from it need no staging. NULL when none. */
void *rf_hip_host_alloc(rf_hip_dev *d, size_t bytes);
void rf_hip_host_free(rf_hip_dev *d, void *p); /* NULL is fine */
/* Host -> device from pinned memory (rf_hip_host_alloc), straight; done when this returns. */
int rf_hip_upload_pinned(rf_hip_dev *d, void *dst, const void *src, size_t n);
int rf_hip_memset(rf_hip_dev *d, void *dst, int v, size_t n);
int rf_hip_sync(rf_hip_dev *d); /* waits for the stream; reports launch/execution errors */

/* Ops. All activations are row-major float [rows][ld]; every op is queued on the stream. */

/* y[t][r] = sum_i W[r][i] * x[t][i] for r < ne1, t < n_tok. W is ne1 rows of row_bytes bytes of
   `type` (ggml ids). With expert != NULL, W starts expert[0] * expert_stride bytes further (MoE:
   the expert is chosen on the device). */
int rf_hip_gemv(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t ne1, uint64_t row_bytes,
                const float *x, int64_t ldx, float *y, int64_t ldy, int64_t n_tok, const int32_t *expert,
                uint64_t expert_stride);
/* xq = what the CPU's activation quantization to act_type (q8_0, q8_1 or q8_K) gives back, row by
   row (n values per row, whole blocks), so the GPU's products match the CPU reference. */
int rf_hip_quant_act(rf_hip_dev *d, int act_type, const float *x, int64_t ldx, float *xq, int64_t n, int64_t rows);
/* out = x / sqrt(mean(x^2) + eps) * w, per row of n (w may be NULL). */
int rf_hip_rmsnorm(rf_hip_dev *d, float *out, const float *x, const float *w, int64_t n, int64_t rows, float eps);
/* The next three take the first position as pos0, or, where pos_at != NULL, read it from device
   memory when they run (so a captured decode step can be replayed at any position). */
/* RoPE on n_tok rows (stride ld) of n_heads heads of hd, the first n_rot dims; token t is at pos0 + t. */
int rf_hip_rope(rf_hip_dev *d, float *x, int64_t ld, int64_t n_tok, int64_t n_heads, int64_t hd, int64_t n_rot,
                int32_t pos0, const int32_t *pos_at, float base, float freq_scale, const float *freq_factors, int neox);
/* f16 KV cache rows [n_ctx][kv_dim] of one layer; writes positions pos0 .. pos0 + n_tok - 1. */
int rf_hip_kv_store(rf_hip_dev *d, uint16_t *k_cache, uint16_t *v_cache, const float *k, const float *v,
                    int64_t ld, int64_t kv_dim, int32_t pos0, const int32_t *pos_at, int64_t n_tok);
/* q, k, v stacked in each row of qkv (nh q heads, nkv k heads, nkv v heads of hd): rf_hip_rope on
   the q and k heads and rf_hip_kv_store of k and v, in one launch. */
int rf_hip_rope_kv(rf_hip_dev *d, float *qkv, int64_t ld, int64_t n_tok, int64_t nh, int64_t nkv, int64_t hd, int64_t n_rot,
                   int32_t pos0, const int32_t *pos_at, float base, float freq_scale, const float *freq_factors, int neox,
                   uint16_t *k_cache, uint16_t *v_cache);
/* Causal attention of n_tok queries at pos0.. over the f16 cache; GQA (head h reads kv head
   h / (nh / nkv)); window > 0 keeps the last `window` positions. out [n_tok][nh * hd]. act != NULL
   (hd a multiple of 32): out also as rf_hip_act_q8 with k_quant 0 would make it, in act. */
int rf_hip_attention(rf_hip_dev *d, float *out, const float *q, int64_t ldq, const uint16_t *k_cache,
                     const uint16_t *v_cache, int64_t n_tok, int64_t nh, int64_t nkv, int64_t hd, int32_t pos0,
                     const int32_t *pos_at, int64_t window, float scale, void *act);
/* One decode token whose row qkv stacks q, k and v (as rf_hip_rope_kv takes it): rf_hip_rope_kv
   and rf_hip_attention in one launch (kernels/attention.hip). The cache gets k and v at pos0 (or
   *pos_at); qkv is not written. */
int rf_hip_attention_rope(rf_hip_dev *d, float *out, const float *qkv, uint16_t *k_cache, uint16_t *v_cache, int64_t nh,
                          int64_t nkv, int64_t hd, int64_t n_rot, int32_t pos0, const int32_t *pos_at, float base,
                          float freq_scale, const float *freq_factors, int neox, int64_t window, float scale, void *act);
/* h[t][i] = act(g[t][i]) * u[t][i], act SiLU (gelu = 0) or tanh GELU (gelu = 1). */
int rf_hip_glu(rf_hip_dev *d, float *h, int64_t ldh, const float *g, int64_t ldg, const float *u, int64_t ldu,
               int64_t n, int64_t rows, int gelu);
/* y[t][i] += alpha * x[t][i] (ldx 0: x is one row added to every row; weight != NULL: alpha is
   also multiplied by weight[t * wstride + widx]). */
int rf_hip_add(rf_hip_dev *d, float *y, int64_t ldy, const float *x, int64_t ldx, int64_t n, int64_t rows,
               float alpha, const float *weight, int64_t wstride, int64_t widx);
/* out[t][i] = dequantized row ids[t] of the matrix, times scale. */
int rf_hip_embed(rf_hip_dev *d, float *out, int64_t ld, int type, const void *w, int64_t ne0, uint64_t row_bytes,
                 const int32_t *ids, int64_t n_tok, float scale);
/* In place softmax of each row of n. */
int rf_hip_softmax(rf_hip_dev *d, float *x, int64_t ld, int64_t n, int64_t rows);
/* MoE router: per row, softmax of n_expert logits, the top k (first on ties) and their
   probabilities renormalized to sum 1: ids [rows][k], weights [rows][k]. logits become the
   probabilities. */
int rf_hip_moe_route(rf_hip_dev *d, float *logits, int64_t ld, int64_t n_expert, int64_t k, int64_t rows,
                     int32_t *ids, float *weights);
/* *out = the index of the largest of x[0..n) (the first on ties; NaN never wins). */
int rf_hip_argmax(rf_hip_dev *d, const float *x, int64_t n, int32_t *out);
/* One step of rocmforge.h's sampler chain on the device (kernels/sample.hip): from n logits x to
   out[0] = the token rf_sampler_sample picks with the same parameters and uniform number u in
   [0, 1), and out[1] = how many logits were candidates (not NaN or -inf; 0: out[0] is 0).
   temperature <= 0: greedy (argmax, lowest id on ties; the rest is ignored). Otherwise top_k in
   1..RF_HIP_SAMPLE_K_MAX, then top_p (>= 1: off), min_p (<= 0: off), temperature, and the draw.
   Logit bias, penalties and typical-p are not done here (the host applies or falls back). */
#define RF_HIP_SAMPLE_K_MAX 256
int rf_hip_sample(rf_hip_dev *d, const float *x, int64_t n, int32_t top_k, float top_p, float min_p, float temperature,
                  double u, int32_t *out);

/* The int8 path (kernels/act_q8.hip, kernels/gemv_q8.hip) for the types decode lives on.
   rf_hip_q8_act_type: for a weight type, 0 (its activations are q8_0), 1 (q8_K), or -1 (no int8
   kernel: use rf_hip_gemv). rf_hip_pack regroups ne1 GGUF rows of such a type into the GPU
   layout (the same number of bytes) that rf_hip_gemv_q8 reads; rows of several matrices packed
   together form one matrix (q, k and v in one launch). */
int rf_hip_q8_act_type(int type);
int rf_hip_pack(int type, const void *src, int64_t ne0, int64_t ne1, void *dst);
/* act = rows of n int8 values with their scales (rf_hip_act_q8_bytes(n, rows) bytes), quantized
   as the CPU quantizes activations (k_quant 0: q8_0, 1: q8_K); with norm != NULL, of the RMSNorm
   x / rms(x) * norm instead of x itself (the fused form of rf_hip_rmsnorm). */
size_t rf_hip_act_q8_bytes(int64_t n, int64_t rows);
int rf_hip_act_q8(rf_hip_dev *d, int k_quant, const float *x, int64_t ldx, const float *norm, float eps, int64_t n,
                  int64_t rows, void *act);
/* The same for the gated activation act(g) * u (rf_hip_glu's h), quantized without being stored. */
int rf_hip_glu_q8(rf_hip_dev *d, int k_quant, const float *g, int64_t ldg, const float *u, int64_t ldu, int64_t n,
                  int64_t rows, int gelu, void *act);
/* y[t][r] (= or, accumulate != 0, +=) sum_i W[r][i] x[t][i], W packed by rf_hip_pack, x from
   rf_hip_act_q8 (with n = ne0 and the act type rf_hip_q8_act_type names). ss != NULL: one token
   whose act and ss rf_hip_gemv_q8_norm made; the sums are multiplied by its RMSNorm's 1 / rms
   (eps as rf_hip_act_q8's). */
int rf_hip_gemv_q8(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t ne1, const void *act, float *y,
                   int64_t ldy, int64_t n_tok, int accumulate, const float *ss, float eps);

/* One decode token through the stacked gate+up matrix W (rf_hip_pack of gate's nff rows, then
   up's; q4_0 or q8_0, x from rf_hip_act_q8 with n = ne0): act_out = the q8_0 activations of
   act(gate) * up (gelu: tanh-GELU, else SiLU), nff a multiple of 32 -- the bytes rf_hip_gemv_q8
   then rf_hip_glu_q8 write, in one launch (kernels/gemv_glu.hip). ss: as rf_hip_gemv_q8's. */
int rf_hip_gemv_q8_glu(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t nff, const void *act, const float *ss,
                       float eps, int gelu, void *act_out);
/* One decode token's x += W act (x: ne1 floats, the residual stream; W q4_0 or q8_0 packed, act
   from rf_hip_act_q8 with n = ne0), then act_out = the int8 input of the RMSNorm of the new x
   with weights norm, for a matrix with q8_0 activations, ss its ne1 / 32 sums of squares: in one
   launch what rf_hip_gemv_q8 (accumulate) and rf_hip_act_q8 (norm) do in two, to be read by
   rf_hip_gemv_q8 or rf_hip_gemv_q8_glu with ss (kernels/gemv_norm.hip). ne1 a multiple of 32;
   act_out must not overlap act. */
int rf_hip_gemv_q8_norm(rf_hip_dev *d, int type, const void *w, int64_t ne0, int64_t ne1, const void *act, float *x,
                        const float *norm, void *act_out, float *ss);

/* Matrix cores (kernels/mma.hip): which kind this device's code uses -- 0 none (a SIMT
   stand-in), 1 NVIDIA mma.sync, 2 CDNA MFMA, 3 RDNA3 WMMA; -1 with the error set when it cannot
   tell. Asked once per device, then remembered. */
int rf_hip_mma_kind(rf_hip_dev *d);
/* The prefill GEMM (kernels/gemm.hip): y[t][r] (= or, accumulate != 0, +=) sum_i W[r][i] x[t][i]
   for n_tok tokens of x in f16 (x16, ldx halves, a multiple of 8; 16-byte aligned), on the
   matrix cores with f32 sums. rf_hip_gemm_input makes x16: rows of n floats of x (ld ldx, both
   multiples of 4) rounded to f16, dense. W: packed != 0, as rf_hip_pack left it; else GGUF rows
   of row_bytes. ne0 a multiple of 32. Nonzero (error set) for a type it has no kernel for:
   rf_hip_gemm_type(type, packed) says beforehand. */
int rf_hip_gemm_type(int type, int packed);
int rf_hip_gemm_input(rf_hip_dev *d, uint16_t *x16, const float *x, int64_t ldx, int64_t n, int64_t rows);
int rf_hip_gemm(rf_hip_dev *d, int type, int packed, const void *w, uint64_t row_bytes, int64_t ne0, int64_t ne1,
                const uint16_t *x16, int64_t ldx, float *y, int64_t ldy, int64_t n_tok, int accumulate);

/* rf_hip_attention for a prefill batch on the matrix cores (kernels/flash.hip), pos0 on the
   host: hd 64 or 128, ldq a multiple of 4. q and the softmax weights are rounded to f16. */
int rf_hip_flash_attention(rf_hip_dev *d, float *out, const float *q, int64_t ldq, const uint16_t *k_cache,
                           const uint16_t *v_cache, int64_t n_tok, int64_t nh, int64_t nkv, int64_t hd, int32_t pos0,
                           int64_t window, float scale);

/* A streaming read of `bytes` of device memory, the best of `reps` passes, in GB/s: the ceiling
   that memory-bound decode is measured against (rf bench). */
int rf_hip_read_bandwidth(rf_hip_dev *d, size_t bytes, int reps, double *gb_per_s);

/* Graphs: launches queued between rf_hip_capture_begin and _end (no waits, copies or syncs in
   between) are recorded instead of run; rf_hip_graph_launch replays them on the stream. */
int rf_hip_capture_begin(rf_hip_dev *d);
int rf_hip_capture_end(rf_hip_dev *d, rf_hip_graph **out); /* ends the capture even on failure */
int rf_hip_graph_launch(rf_hip_dev *d, rf_hip_graph *g);
void rf_hip_graph_free(rf_hip_graph *g); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif /* ROCMFORGE_HIP_H */

#ifdef ROCMFORGE_HIP_IMPLEMENTATION
#ifndef ROCMFORGE_HIP_IMPLEMENTATION_DONE
#define ROCMFORGE_HIP_IMPLEMENTATION_DONE
