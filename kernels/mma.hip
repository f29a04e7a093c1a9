/* Matrix cores behind one small interface. A wave multiplies a 16 x 16 tile of A by a 16 x 16
   tile of B, both f16 in LDS with k contiguous, into a 16 x 16 f32 accumulator:

       C[m][n] += sum_k A[m][k] * B[n][k]          (m, n, k < 16)

   with whatever its target has (RF_MMA):
     RF_MMA_NV    NVIDIA sm_80+: two mma.sync.m16n8k16 (one per 8 columns)
     RF_MMA_MFMA  CDNA (gfx908, gfx90a, gfx94x; wave64): v_mfma_f32_16x16x16f16
     RF_MMA_WMMA  RDNA3 (gfx11, wave32): v_wmma_f32_16x16x16_f16
     RF_MMA_SIMT  anything else: the same sums with FMAs, 256 / wave outputs per lane
   A kernel loads fragments (rf_mma_load_a, rf_mma_load_b; the ...16 forms for 16-byte aligned
   rows), multiplies (rf_mma), and finds where
   each of a lane's RF_MMA_ACC accumulator values sits with rf_mma_acc_mn. The fragment layouts
   are the vendors' (PTX ISA, "mma.m16n8k16" fragments; AMD's matrix instruction layouts for MFMA
   and WMMA); nothing outside this file depends on them. The host asks rf_hip_mma_kind which of
   the four a device's code object has. */

#define RF_MMA_SIMT 0
#define RF_MMA_NV 1
#define RF_MMA_MFMA 2
#define RF_MMA_WMMA 3

#if !RF_HIP_AMD && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define RF_MMA RF_MMA_NV
#elif RF_HIP_AMD && (defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || defined(__gfx941__) || defined(__gfx942__))
#define RF_MMA RF_MMA_MFMA
#elif RF_HIP_AMD && (defined(__gfx1100__) || defined(__gfx1101__) || defined(__gfx1102__) || defined(__gfx1103__)) && \
    defined(__AMDGCN_WAVEFRONT_SIZE) && __AMDGCN_WAVEFRONT_SIZE == 32
#define RF_MMA RF_MMA_WMMA
#else
#define RF_MMA RF_MMA_SIMT
#endif

/* The wave width as a compile-time constant (RF_WAVE is warpSize, a run-time value, under nvcc):
   it sizes the per-lane accumulator. The host pass of hipcc sees 64 and never runs the code. */
#if RF_HIP_AMD && defined(__AMDGCN_WAVEFRONT_SIZE)
#define RF_MMA_WAVE __AMDGCN_WAVEFRONT_SIZE
#elif RF_HIP_AMD
#define RF_MMA_WAVE 64
#else
#define RF_MMA_WAVE 32
#endif
#define RF_MMA_ACC (256 / RF_MMA_WAVE) /* accumulator values per lane: 16 x 16 over the wave */

#if RF_MMA == RF_MMA_MFMA
typedef _Float16 rf_mma_h4 __attribute__((ext_vector_type(4)));
typedef float rf_mma_f4 __attribute__((ext_vector_type(4)));
#elif RF_MMA == RF_MMA_WMMA
typedef _Float16 rf_mma_h16 __attribute__((ext_vector_type(16)));
typedef float rf_mma_f8 __attribute__((ext_vector_type(8)));
#endif

struct rf_mma_frag { /* a 16 x 16 f16 tile as this lane holds it */
#if RF_MMA == RF_MMA_NV
    uint32_t r[4];
#elif RF_MMA == RF_MMA_MFMA
    rf_mma_h4 v;
#elif RF_MMA == RF_MMA_WMMA
    rf_mma_h16 v;
#else
    const uint16_t *p; /* SIMT: the tile stays in LDS */
    int ld;
#endif
};

struct rf_mma_acc { /* a 16 x 16 f32 tile as this lane holds it */
#if RF_MMA == RF_MMA_MFMA
    rf_mma_f4 v;
#elif RF_MMA == RF_MMA_WMMA
    rf_mma_f8 v;
#else
    float v[RF_MMA_ACC];
#endif
};

__device__ __forceinline__ void rf_mma_zero(rf_mma_acc &c) {
#pragma unroll
    for (int i = 0; i < RF_MMA_ACC; i++) c.v[i] = 0.0f;
}

__device__ __forceinline__ int rf_mma_lane(void) { return (int)(threadIdx.x % RF_MMA_WAVE); }

/* The A tile at p (row m at p + m * ld, ld in halves; 8-byte aligned rows). */
__device__ __forceinline__ rf_mma_frag rf_mma_load_a(const uint16_t *p, int ld) {
    rf_mma_frag f;
    const int l = rf_mma_lane();
#if RF_MMA == RF_MMA_NV /* a0 (g, 2t), a1 (g + 8, 2t), a2 (g, 2t + 8), a3 (g + 8, 2t + 8); two halves each */
    const uint16_t *q = p + (l >> 2) * ld + 2 * (l & 3);
    f.r[0] = *(const uint32_t *)q;
    f.r[1] = *(const uint32_t *)(q + 8 * ld);
    f.r[2] = *(const uint32_t *)(q + 8);
    f.r[3] = *(const uint32_t *)(q + 8 * ld + 8);
#elif RF_MMA == RF_MMA_MFMA /* row l % 16, k 4 (l / 16) .. + 3 */
    f.v = *(const rf_mma_h4 *)(p + (l % 16) * ld + 4 * (l / 16));
#elif RF_MMA == RF_MMA_WMMA /* row l % 16, all 16 k (lanes 16..31 repeat lanes 0..15) */
    __builtin_memcpy(&f.v, p + (l % 16) * ld, sizeof f.v);
#else
    (void)l;
    f.p = p, f.ld = ld;
#endif
    return f;
}

/* The B tile at p (column n at p + n * ld). */
__device__ __forceinline__ rf_mma_frag rf_mma_load_b(const uint16_t *p, int ld) {
#if RF_MMA == RF_MMA_NV /* per 8 columns: b0 (k 2t, n g), b1 (k 2t + 8, n g) */
    rf_mma_frag f;
    const int l = rf_mma_lane();
    const uint16_t *q = p + (l >> 2) * ld + 2 * (l & 3);
    f.r[0] = *(const uint32_t *)q;
    f.r[1] = *(const uint32_t *)(q + 8);
    f.r[2] = *(const uint32_t *)(q + 8 * ld);
    f.r[3] = *(const uint32_t *)(q + 8 * ld + 8);
    return f;
#else /* MFMA, WMMA: B is read like A, by columns; SIMT: a pointer */
    return rf_mma_load_a(p, ld);
#endif
}

/* The same loads for tiles whose rows (and k offset) are 16-byte aligned: on NVIDIA one ldmatrix
   (four 8 x 8 matrices; lane l gives the address of one row of one of them) instead of four
   32-bit loads. Elsewhere the loads above. */
#if RF_MMA == RF_MMA_NV
/* ldmatrix .x4: four 8 x 8 matrices of halves, lanes 8i..8i+7 giving the row addresses of matrix
   i (16-byte aligned), which lands in register i. */
__device__ __forceinline__ rf_mma_frag rf_mma_ldmatrix4(const uint16_t *row) {
    rf_mma_frag f;
    const unsigned a = (unsigned)__cvta_generic_to_shared(row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(f.r[0]), "=r"(f.r[1]), "=r"(f.r[2]), "=r"(f.r[3])
                 : "r"(a));
    return f;
}
#endif
__device__ __forceinline__ rf_mma_frag rf_mma_load_a16(const uint16_t *p, int ld) {
#if RF_MMA == RF_MMA_NV /* matrices: rows 0-7 k 0-7, rows 8-15 k 0-7, rows 0-7 k 8-15, rows 8-15 k 8-15 = a0..a3 */
    const int l = rf_mma_lane();
    return rf_mma_ldmatrix4(p + (l % 16) * ld + 8 * (l / 16));
#else
    return rf_mma_load_a(p, ld);
#endif
}
__device__ __forceinline__ rf_mma_frag rf_mma_load_b16(const uint16_t *p, int ld) {
#if RF_MMA == RF_MMA_NV /* matrices: n 0-7 k 0-7, n 0-7 k 8-15, n 8-15 k 0-7, n 8-15 k 8-15 = b0 b1 (first 8 n), b0 b1 (next) */
    const int l = rf_mma_lane();
    return rf_mma_ldmatrix4(p + (l % 8 + 8 * (l / 16)) * ld + 8 * ((l / 8) % 2));
#else
    return rf_mma_load_b(p, ld);
#endif
}

/* c += a b^T */
__device__ __forceinline__ void rf_mma(rf_mma_acc &c, const rf_mma_frag &a, const rf_mma_frag &b) {
#if RF_MMA == RF_MMA_NV
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c.v[0]), "+f"(c.v[1]), "+f"(c.v[2]), "+f"(c.v[3])
                 : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "r"(b.r[0]), "r"(b.r[1]));
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c.v[4]), "+f"(c.v[5]), "+f"(c.v[6]), "+f"(c.v[7])
                 : "r"(a.r[0]), "r"(a.r[1]), "r"(a.r[2]), "r"(a.r[3]), "r"(b.r[2]), "r"(b.r[3]));
#elif RF_MMA == RF_MMA_MFMA
    c.v = __builtin_amdgcn_mfma_f32_16x16x16f16(a.v, b.v, c.v, 0, 0, 0);
#elif RF_MMA == RF_MMA_WMMA
    c.v = __builtin_amdgcn_wmma_f32_16x16x16_f16_w32(a.v, b.v, c.v);
#else
    const int l = rf_mma_lane();
#pragma unroll
    for (int i = 0; i < RF_MMA_ACC; i++) {
        const int e = i * RF_MMA_WAVE + l, m = e / 16, n = e % 16;
        float s = c.v[i];
        for (int k = 0; k < 16; k++) s += rf_h2f(a.p[m * a.ld + k]) * rf_h2f(b.p[n * b.ld + k]);
        c.v[i] = s;
    }
#endif
}

/* Where accumulator value i of this lane sits in the 16 x 16 tile. */
__device__ __forceinline__ void rf_mma_acc_mn(int i, int &m, int &n) {
    const int l = rf_mma_lane();
#if RF_MMA == RF_MMA_NV /* per 8 columns: c0 c1 (g, 2t + j), c2 c3 (g + 8, 2t + j) */
    m = (l >> 2) + 8 * ((i & 3) >> 1);
    n = 8 * (i >> 2) + 2 * (l & 3) + (i & 1);
#elif RF_MMA == RF_MMA_MFMA /* rows 4 (l / 16) + i of column l % 16 */
    m = 4 * (l / 16) + i;
    n = l % 16;
#elif RF_MMA == RF_MMA_WMMA /* rows 2 i + l / 16 of column l % 16 */
    m = 2 * i + l / 16;
    n = l % 16;
#else
    m = (i * RF_MMA_WAVE + l) / 16;
    n = (i * RF_MMA_WAVE + l) % 16;
#endif
}

__global__ void rf_mma_kind_kernel(int *out) {
    if (threadIdx.x == 0) *out = RF_MMA;
}

/* Two floats -> two fp16 (round to nearest even) in one word, the first in the low half. */
__device__ __forceinline__ uint32_t rf_mma_pack2(float a, float b) {
    return (uint32_t)__half_as_ushort(__float2half_rn(a)) | ((uint32_t)__half_as_ushort(__float2half_rn(b)) << 16);
}

/* Copies of 16 bytes from global memory into LDS that run while the wave goes on, in groups:
   rf_cp16 starts one (n_valid 0: zeros are written, nothing is read), rf_cp_commit closes this
   thread's group, rf_cp_wait<N> waits until at most N of its groups are still in flight. The
   copies other threads made are seen after a barrier. On NVIDIA sm_80+ cp.async; elsewhere an
   ordinary load and store (the wait is then a no-op). Both addresses 16-byte aligned. */
__device__ __forceinline__ void rf_cp16(void *lds, const void *g, int n_valid) {
#if RF_MMA == RF_MMA_NV
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"((unsigned)__cvta_generic_to_shared(lds)), "l"(g),
                 "r"(n_valid ? 16 : 0));
#else
    *(uint4 *)lds = n_valid ? *(const uint4 *)g : make_uint4(0u, 0u, 0u, 0u);
#endif
}
__device__ __forceinline__ void rf_cp_commit(void) {
#if RF_MMA == RF_MMA_NV
    asm volatile("cp.async.commit_group;" ::);
#endif
}
template <int N> __device__ __forceinline__ void rf_cp_wait(void) {
#if RF_MMA == RF_MMA_NV
    asm volatile("cp.async.wait_group %0;" ::"n"(N));
#endif
}
