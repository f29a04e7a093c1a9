/* Private declarations shared by the implementation files. Everything here is static or
   prefixed rf__; nothing leaks into the includer's namespace beyond the macros below. */

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#ifndef RF_NO_MMAP
#include <sys/mman.h>
#endif
#endif
#ifndef RF_NO_THREADS
#include <pthread.h>
#include <sched.h>
#endif

#ifndef RF_MALLOC
#define RF_MALLOC(n) malloc(n)
#define RF_REALLOC(p, n) realloc(p, n)
#define RF_FREE(p) free(p)
#endif
#ifndef RF_ASSERT
#define RF_ASSERT(x) assert(x)
#endif

/* One spelling of static_assert for C11 and C++. */
#ifdef __cplusplus
#define RF__STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define RF__STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Typed allocation: C++ needs the cast, C does not mind it. */
#define RF__NEW(T, n) ((T *)RF_MALLOC(sizeof(T) * (size_t)(n)))
#define RF__NEWZ(T, n) ((T *)rf__calloc(sizeof(T), (size_t)(n)))

#define RF__MIN(a, b) ((a) < (b) ? (a) : (b))
#define RF__MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__) || defined(__clang__)
#define RF__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define RF__UNUSED __attribute__((unused))
#else
#define RF__PRINTF(fmt, args)
#define RF__UNUSED
#endif

/* base.c */
/* base.c (RF__UNUSED: not every build uses every helper) */
static rf_status rf__err(rf_status s, const char *fmt, ...) RF__PRINTF(2, 3) RF__UNUSED;
static void rf__log(const rf_logger *lg, rf_log_level level, const char *fmt, ...) RF__PRINTF(3, 4) RF__UNUSED;
static void *rf__calloc(size_t size, size_t n) RF__UNUSED;
static char *rf__strdup(const char *s) RF__UNUSED;
static double rf__now(void) RF__UNUSED;
/* Overflow-checked arithmetic on sizes read from files: return 0 on overflow. */
static int rf__add_u64(uint64_t a, uint64_t b, uint64_t *out) RF__UNUSED;
static int rf__mul_u64(uint64_t a, uint64_t b, uint64_t *out) RF__UNUSED;

/* sched.c's placement of a model, what hip.c uploads: the layers the GPU runs (the CPU runs the
   others), whether the embedding and output head go there too, whether expert matrices stay in
   host memory. */
typedef struct rf__place {
    const uint8_t *gpu; /* [n_layer]: 1 = on the GPU */
    int io;             /* embedding, output norm and head on the GPU */
    int moe_cpu;        /* MoE routers and experts stay in host memory; the CPU runs them */
} rf__place;

/* hip.c: the GPU side of rf_model / rf_ctx (stubs without ROCMFORGE_HIP) */
struct rf_model;
struct rf_ctx;
struct rf__batch;
struct rf__hip_model;
struct rf__hip_ctx;
static rf_status rf__hip_model_new(struct rf_model *m, const rf__place *p, int32_t device, struct rf__hip_model **out) RF__UNUSED;
static void rf__hip_model_free(struct rf__hip_model *g) RF__UNUSED;
static rf_status rf__hip_ctx_new(const struct rf_model *m, int32_t n_ctx, struct rf__hip_ctx **out) RF__UNUSED;
static void rf__hip_ctx_free(struct rf__hip_ctx *c) RF__UNUSED;
static rf_status rf__hip_decode(struct rf__hip_ctx *c, const int32_t *tokens, int32_t n, int32_t pos, float *logits) RF__UNUSED;
/* sched.c: the hybrid scheduler -- places a model's layers at load, makes a context's GPU side,
   and runs a batch's layers on their devices (forward.c calls these; sched.c comes after it) */
static rf_status rf__sched_place(struct rf_model *m, const rf_model_params *p) RF__UNUSED;
static rf_status rf__sched_ctx_new(struct rf_ctx *c) RF__UNUSED;
static int rf__sched_whole_gpu(const struct rf_ctx *c) RF__UNUSED;
static rf_status rf__sched_layers(struct rf_ctx *c, const struct rf__batch *b) RF__UNUSED;
