/* rocmforge -- a freestanding LLM inference engine in one header. MIT license (at the end).

   Do this:
       #define ROCMFORGE_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the implementation, and include
   it there before any other header (it asks libc for POSIX/GNU calls: mmap, clock_gettime).
   Every other file may include it without the macro and gets only the declarations.
   Build: C11 or C++17, libc and pthreads: cc -std=c11 -O2 app.c -lm -lpthread

   EXAMPLE (examples/embed.c is the complete program)

       rf_model *m; rf_ctx *c; rf_sampler *s; rf_gen_params gp;
       rf_sampler_params sp = rf_sampler_default_params();
       if (rf_model_load("model.gguf", NULL, &m) != RF_OK) {
           fprintf(stderr, "%s\n", rf_last_error());      // "tensor 'blk.3...': ..."
           return 1;
       }
       rf_ctx_new(m, NULL, &c);                          // KV cache + scratch
       rf_sampler_new(&sp, rf_model_n_vocab(m), &s);
       memset(&gp, 0, sizeof gp);
       gp.max_tokens = 64;
       gp.on_piece = print_piece;                        // int (*)(void*, const char*, size_t)
       rf_generate(c, s, "Once upon a time", 16, &gp, NULL);
       rf_sampler_free(s); rf_ctx_free(c); rf_model_free(m);

   MANUAL
   1. Errors. Every fallible call returns an rf_status (RF_OK is 0). rf_status_str() names it and
      rf_last_error() gives the detail of the last failure on the calling thread, e.g.
      "tensor 'blk.3.ffn_up.weight': data [9123, 12000) past end of file (8000 bytes)".
      No call aborts, prints or exits on bad input. Logging goes through an rf_logger you pass
      (NULL: stderr, warnings and errors only).
   2. The API by handle (zero-initialized params structs mean "defaults"):
      rf_gguf          GGUF reader: rf_gguf_open / _open_memory, metadata getters, tensors.
      rf_gguf_writer   GGUF writer: rf_gguf_set_*, rf_gguf_add_tensor[_fn], rf_gguf_writer_write.
      (types)          rf_type_get, rf_dequantize, rf_quantize, rf_vec_dot: the scalar reference
                       kernels for every tensor format; rf_fp16/bf16 conversions.
      rf_tokenizer     rf_tokenizer_load (from an rf_gguf), rf_tokenize, rf_detokenize,
                       rf_token_to_piece; a model owns one: rf_model_tokenizer().
      (chat)           rf_chat_detect, rf_chat_render: the chat template formats.
      rf_model         rf_model_load: weights (mapped, not copied) + hyperparameters + tokenizer.
      rf_ctx           rf_ctx_new: one session (KV cache, position); rf_ctx_decode runs token
                       ids, rf_ctx_logits reads the next-token logits.
      rf_sampler       rf_sampler_new: the sampling chain with its own seeded RNG.
      (generation)     rf_generate: prompt -> prefill (reusing the cached prefix) -> sample /
                       decode -> text streamed in whole UTF-8 pieces, stop strings honoured.
      (synthetic)      rf_synth_write: a random-weight model of any shape, for tests/benchmarks.
   3. Memory. Every handle is freed by its _free/_close (NULL is fine); nothing else owns memory.
      Model weights stay in the mapped file.

   THREAD SAFETY
   rf_model, rf_tokenizer and a reading rf_gguf are read-only once loaded: share them between
   threads. rf_ctx, rf_sampler and rf_gguf_writer belong to one thread at a time (use one
   rf_ctx per concurrent session). rf_last_error() is per thread.

   OPTIONS (define before the include that has ROCMFORGE_IMPLEMENTATION)
   | macro                    | default                  | meaning                                  |
   |--------------------------|--------------------------|------------------------------------------|
   | RF_API                   | extern                   | linkage of every public function         |
   | RF_STATIC                | off                      | make every public function static        |
   | RF_MALLOC(n)             | malloc(n)                | allocator used for everything            |
   | RF_REALLOC(p, n)         | realloc(p, n)            | (define all three together)              |
   | RF_FREE(p)               | free(p)                  |                                          |
   | RF_ASSERT(x)             | assert(x)                | internal invariants only, never input    |
   | RF_NO_MMAP               | off                      | read files with read() instead of mmap   |
   | RF_NO_THREADS            | off                      | no pthreads: one thread, error detail global |

   VERSION HISTORY
   0.1.0  GGUF reader/writer, tensor formats, tokenizers, chat templates, sampler, CPU inference
          for llama/mistral/mixtral/qwen2/qwen3/gemma3/phi3, rf run/chat/info/synth.
*/
#ifndef ROCMFORGE_H
#define ROCMFORGE_H

/* The implementation uses POSIX and GNU calls (mmap, clock_gettime, pthread affinity); they must
   be requested before the first libc header, so include rocmforge.h first in the file that
   defines ROCMFORGE_IMPLEMENTATION (or build that file with -D_GNU_SOURCE). */
#if defined(ROCMFORGE_IMPLEMENTATION) && defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif

#include <stddef.h>
#include <stdint.h>

#define RF_VERSION "0.1.0"

#ifndef RF_API
#ifdef RF_STATIC
#define RF_API static
#else
#define RF_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
   Status codes */

typedef enum rf_status {
    RF_OK = 0,
    RF_ERR_INVALID_ARG,   /* the caller passed a bad argument (NULL handle, n not a multiple, ...) */
    RF_ERR_OOM,           /* an allocation failed */
    RF_ERR_IO,            /* open/read/write/mmap failed; the detail has strerror */
    RF_ERR_BAD_MAGIC,     /* not a GGUF file */
    RF_ERR_BAD_VERSION,   /* GGUF version we do not read */
    RF_ERR_BIG_ENDIAN,    /* a big-endian GGUF file */
    RF_ERR_TRUNCATED,     /* a field runs past the end of the file */
    RF_ERR_TOO_LARGE,     /* a count, length or size is beyond a limit or overflows */
    RF_ERR_BAD_TYPE,      /* unknown metadata value type or tensor type id */
    RF_ERR_BAD_ALIGNMENT, /* general.alignment not a power of two, or misaligned tensor data */
    RF_ERR_BAD_SHAPE,     /* zero or overflowing dimension, too many dims, row not whole blocks */
    RF_ERR_BAD_OFFSET,    /* tensor data outside the data section, or overlapping another */
    RF_ERR_DUPLICATE,     /* duplicate metadata key or tensor name */
    RF_ERR_BAD_STRING,    /* a string that is not allowed (empty key, embedded NUL, ...) */
    RF_ERR_NOT_FOUND,     /* no such key or tensor */
    RF_ERR_WRONG_TYPE,    /* a key exists but holds another type than asked for */
    RF_ERR_UNSUPPORTED,   /* valid, but this build cannot do it (type, architecture, op) */
    RF_ERR_DEVICE,        /* GPU error; the detail has the runtime's message */
    RF_STATUS_COUNT
} rf_status;

RF_API const char *rf_status_str(rf_status s);   /* "RF_ERR_TRUNCATED" etc.; never NULL */
RF_API const char *rf_last_error(void);          /* detail of the last failure on this thread */

/* ---------------------------------------------------------------------------------------------
   Logging: the library never prints unless a caller asks it to. Functions that take an
   rf_logger* log through it; NULL means the default (stderr, warnings and errors only). */

typedef enum rf_log_level { RF_LOG_ERROR = 0, RF_LOG_WARN, RF_LOG_INFO, RF_LOG_DEBUG } rf_log_level;
typedef void (*rf_log_fn)(void *user, rf_log_level level, const char *msg);
typedef struct rf_logger {
    rf_log_fn fn;        /* NULL: write to stderr */
    void *user;
    rf_log_level level;  /* messages above this level are dropped (0 = errors only) */
} rf_logger;

/* ---------------------------------------------------------------------------------------------
   Tensor types. Ids are ggml's (the GGUF tensor type field). */

typedef enum rf_type {
    RF_TYPE_F32 = 0, RF_TYPE_F16 = 1, RF_TYPE_Q4_0 = 2, RF_TYPE_Q4_1 = 3,
    RF_TYPE_Q5_0 = 6, RF_TYPE_Q5_1 = 7, RF_TYPE_Q8_0 = 8, RF_TYPE_Q8_1 = 9,
    RF_TYPE_Q2_K = 10, RF_TYPE_Q3_K = 11, RF_TYPE_Q4_K = 12, RF_TYPE_Q5_K = 13,
    RF_TYPE_Q6_K = 14, RF_TYPE_Q8_K = 15, RF_TYPE_IQ2_XXS = 16, RF_TYPE_IQ2_XS = 17,
    RF_TYPE_IQ3_XXS = 18, RF_TYPE_IQ1_S = 19, RF_TYPE_IQ4_NL = 20, RF_TYPE_IQ3_S = 21,
    RF_TYPE_IQ2_S = 22, RF_TYPE_IQ4_XS = 23, RF_TYPE_I8 = 24, RF_TYPE_I16 = 25,
    RF_TYPE_I32 = 26, RF_TYPE_I64 = 27, RF_TYPE_F64 = 28, RF_TYPE_IQ1_M = 29,
    RF_TYPE_BF16 = 30, RF_TYPE_TQ1_0 = 34, RF_TYPE_TQ2_0 = 35, RF_TYPE_MXFP4 = 39,
    RF_TYPE_COUNT = 40
} rf_type;

typedef struct rf_type_traits {
    const char *name;      /* "q4_K" etc., as ggml spells it */
    int32_t block_size;    /* elements per block (1 for plain types) */
    int32_t type_size;     /* bytes per block */
    int32_t can_dequant;   /* rf_dequantize works for this type */
    int32_t can_quant;     /* rf_quantize works for this type */
    rf_type vec_dot_type;  /* activation format rf_vec_dot pairs this type with */
} rf_type_traits;

/* NULL for an id that is not a known type (ids 31..33, 36..38 were retired by ggml). */
RF_API const rf_type_traits *rf_type_get(uint32_t type_id);
RF_API const char *rf_type_name(uint32_t type_id);               /* "?" when unknown */
RF_API int rf_type_from_name(const char *name, rf_type *out);    /* case-insensitive; 1 if found */
/* Bytes of n elements of a type; RF_ERR_BAD_SHAPE if n is not whole blocks, TOO_LARGE on overflow. */
RF_API rf_status rf_type_row_bytes(rf_type type, int64_t n, uint64_t *out);

/* Scalar reference kernels. n must be a multiple of the type's block size. */
RF_API rf_status rf_dequantize(rf_type type, const void *src, float *dst, int64_t n);
RF_API rf_status rf_quantize(rf_type type, const float *src, void *dst, int64_t n);
/* out = dot(w, a) over n elements, where w is of type `type` and a is n elements of
   rf_type_get(type)->vec_dot_type (q8_0, q8_1, q8_K, or f32 for F32/F16/BF16). */
RF_API rf_status rf_vec_dot(rf_type type, int64_t n, const void *w, const void *a, float *out);

RF_API float rf_fp16_to_fp32(uint16_t h);
RF_API uint16_t rf_fp32_to_fp16(float f);   /* round to nearest even, like numpy's astype(float16) */
RF_API float rf_bf16_to_fp32(uint16_t h);
RF_API uint16_t rf_fp32_to_bf16(float f);   /* round to nearest even; NaN stays NaN */

/* ---------------------------------------------------------------------------------------------
   GGUF reader. Strings in a GGUF file are not NUL-terminated: they come as (pointer, length).
   Keys and tensor names are copied and NUL-terminated by the reader. */

typedef enum rf_gguf_vtype {
    RF_GGUF_U8 = 0, RF_GGUF_I8 = 1, RF_GGUF_U16 = 2, RF_GGUF_I16 = 3, RF_GGUF_U32 = 4,
    RF_GGUF_I32 = 5, RF_GGUF_F32 = 6, RF_GGUF_BOOL = 7, RF_GGUF_STRING = 8, RF_GGUF_ARRAY = 9,
    RF_GGUF_U64 = 10, RF_GGUF_I64 = 11, RF_GGUF_F64 = 12, RF_GGUF_VTYPE_COUNT = 13
} rf_gguf_vtype;

typedef struct rf_gguf rf_gguf;

/* A metadata value. Scalars are widened into u/i/f/b; a string is (str, n); an array is
   (elem_type, n) and its elements are read with rf_gguf_array_get(). For arrays of fixed-size
   scalars `data` points at the n little-endian elements in the file (may be unaligned). */
typedef struct rf_gguf_value {
    rf_gguf_vtype type;
    rf_gguf_vtype elem_type;  /* ARRAY only */
    uint64_t n;               /* STRING: bytes; ARRAY: elements */
    uint64_t u;               /* unsigned integer types, and BOOL (0/1) */
    int64_t i;                /* signed integer types (also set for unsigned when it fits) */
    double f;                 /* F32, F64 (also set for every integer type) */
    const char *str;          /* STRING */
    const void *data;         /* ARRAY of fixed-size scalars */
    const void *priv_;        /* reader-internal; do not touch */
} rf_gguf_value;

typedef struct rf_gguf_tensor {
    const char *name;    /* NUL-terminated */
    rf_type type;
    uint32_t n_dims;     /* 1..4 */
    int64_t ne[4];       /* ne[0] is the row length; dims past n_dims are 1 */
    uint64_t offset;     /* from the start of the data section */
    uint64_t size;       /* bytes */
    const void *data;    /* the bytes, inside the mapped/read file */
} rf_gguf_tensor;

enum { RF_GGUF_NO_MMAP = 1 };  /* flags for rf_gguf_open_ex */

RF_API rf_status rf_gguf_open(const char *path, rf_gguf **out);
RF_API rf_status rf_gguf_open_ex(const char *path, unsigned flags, rf_gguf **out);
/* Parse a file already in memory; `data` must outlive the handle (it is not copied). */
RF_API rf_status rf_gguf_open_memory(const void *data, size_t size, rf_gguf **out);
RF_API void rf_gguf_close(rf_gguf *g);  /* NULL is fine */

RF_API uint32_t rf_gguf_version(const rf_gguf *g);
RF_API uint64_t rf_gguf_alignment(const rf_gguf *g);
RF_API uint64_t rf_gguf_file_size(const rf_gguf *g);
RF_API uint64_t rf_gguf_data_offset(const rf_gguf *g);  /* file offset of the data section */

RF_API int64_t rf_gguf_n_kv(const rf_gguf *g);
RF_API const char *rf_gguf_kv_key(const rf_gguf *g, int64_t i);          /* NULL if out of range */
RF_API rf_status rf_gguf_kv_value(const rf_gguf *g, int64_t i, rf_gguf_value *out);
RF_API int64_t rf_gguf_find_kv(const rf_gguf *g, const char *key);       /* -1 if absent */
RF_API rf_status rf_gguf_array_get(const rf_gguf *g, const rf_gguf_value *arr, uint64_t i,
                                   rf_gguf_value *out);

/* Typed getters by key. Integers convert when the value fits (else RF_ERR_WRONG_TYPE);
   get_f64 accepts F32/F64 and integers. RF_ERR_NOT_FOUND when the key is absent. */
RF_API rf_status rf_gguf_get_u64(const rf_gguf *g, const char *key, uint64_t *out);
RF_API rf_status rf_gguf_get_i64(const rf_gguf *g, const char *key, int64_t *out);
RF_API rf_status rf_gguf_get_u32(const rf_gguf *g, const char *key, uint32_t *out);
RF_API rf_status rf_gguf_get_f64(const rf_gguf *g, const char *key, double *out);
RF_API rf_status rf_gguf_get_f32(const rf_gguf *g, const char *key, float *out);
RF_API rf_status rf_gguf_get_bool(const rf_gguf *g, const char *key, int *out);
RF_API rf_status rf_gguf_get_str(const rf_gguf *g, const char *key, const char **s, size_t *len);
RF_API rf_status rf_gguf_get_array(const rf_gguf *g, const char *key, rf_gguf_value *out);

RF_API int64_t rf_gguf_n_tensors(const rf_gguf *g);
RF_API const rf_gguf_tensor *rf_gguf_tensor_at(const rf_gguf *g, int64_t i);      /* NULL if out of range */
RF_API const rf_gguf_tensor *rf_gguf_find_tensor(const rf_gguf *g, const char *name); /* NULL if absent */

/* ---------------------------------------------------------------------------------------------
   GGUF writer. Builds metadata and a tensor list in memory, then writes the file in one pass
   to `path`.tmp and renames it over `path`, so a failed write never leaves half a file. */

typedef struct rf_gguf_writer rf_gguf_writer;
/* Fills one tensor's `size` bytes at write time (for tensors too big to keep in memory). */
typedef rf_status (*rf_gguf_fill_fn)(void *user, const rf_gguf_tensor *t, void *dst, uint64_t size);

RF_API rf_status rf_gguf_writer_new(rf_gguf_writer **out);  /* GGUF v3, alignment 32 */
RF_API void rf_gguf_writer_free(rf_gguf_writer *w);         /* NULL is fine */

/* Setting a key that exists replaces it (keeps its position). "general.alignment" (u32, power
   of two) also sets the alignment used for tensor data. */
RF_API rf_status rf_gguf_set_u32(rf_gguf_writer *w, const char *key, uint32_t v);
RF_API rf_status rf_gguf_set_i32(rf_gguf_writer *w, const char *key, int32_t v);
RF_API rf_status rf_gguf_set_u64(rf_gguf_writer *w, const char *key, uint64_t v);
RF_API rf_status rf_gguf_set_f32(rf_gguf_writer *w, const char *key, float v);
RF_API rf_status rf_gguf_set_bool(rf_gguf_writer *w, const char *key, int v);
RF_API rf_status rf_gguf_set_str(rf_gguf_writer *w, const char *key, const char *s);
/* Array of n fixed-size scalars of elem_type, given as native little-endian values (copied). */
RF_API rf_status rf_gguf_set_array(rf_gguf_writer *w, const char *key, rf_gguf_vtype elem_type,
                                   const void *data, uint64_t n);
RF_API rf_status rf_gguf_set_str_array(rf_gguf_writer *w, const char *key,
                                       const char *const *strs, uint64_t n);
/* Copy key i of a reader (any type, nested arrays included) into the writer. */
RF_API rf_status rf_gguf_writer_copy_kv(rf_gguf_writer *w, const rf_gguf *g, int64_t i);

/* Add a tensor. `data` (size = rf_type_row_bytes(type, ne[0]) * rows) is borrowed, not copied:
   it must stay valid until rf_gguf_writer_write returns. */
RF_API rf_status rf_gguf_add_tensor(rf_gguf_writer *w, const char *name, rf_type type,
                                    uint32_t n_dims, const int64_t *ne, const void *data);
/* Add a tensor whose bytes `fill` produces during rf_gguf_writer_write. */
RF_API rf_status rf_gguf_add_tensor_fn(rf_gguf_writer *w, const char *name, rf_type type,
                                       uint32_t n_dims, const int64_t *ne,
                                       rf_gguf_fill_fn fill, void *user);
RF_API rf_status rf_gguf_writer_write(rf_gguf_writer *w, const char *path);

/* ---------------------------------------------------------------------------------------------
   Synthetic models: a random-weight model of a chosen architecture and shape, with a valid
   tokenizer section, that loads in rocmforge and in llama.cpp. Zero fields take defaults. */

typedef struct rf_synth_params {
    const char *arch;       /* "llama" (default), "qwen2", "gemma3" */
    const char *type;       /* weight type: "f32", "f16", "q4_0", "q4_k", "q4_k_m", ... (default "f32") */
    int64_t dim;            /* embedding length (default 64) */
    int64_t n_layers;       /* default 2 */
    int64_t n_heads;        /* default 4 */
    int64_t n_kv_heads;     /* default n_heads */
    int64_t head_dim;       /* default dim / n_heads */
    int64_t ffn;            /* feed-forward length (default 4 * dim) */
    int64_t vocab;          /* default 512 (at least 300: 3 specials + 256 bytes + pieces) */
    int64_t ctx;            /* context length (default 2048) */
    uint64_t seed;          /* default 1 */
    int tied_embeddings;    /* 1: no output.weight (gemma3 is always tied) */
    rf_logger *log;         /* progress and notices (NULL: default logger) */
    int64_t n_experts;      /* > 0: a Mixtral-style MoE FFN of this many experts (default 0: dense) */
    int64_t n_experts_used; /* experts per token (needed with n_experts) */
} rf_synth_params;

RF_API rf_status rf_synth_write(const rf_synth_params *p, const char *path);

/* Requantize a model: every matrix (2-D+ ".weight" tensor, except MoE routers) to `type` -- a
   tensor type name ("q8_0", "q4_k", "f16", ...) or "q4_k_m" (Q4_K with Q6_K for output.weight
   and for attn_v / ffn_down in a third of the layers); rows that are not whole blocks fall back to
   q8_0 or f16 with a warning. Metadata and vectors are copied; progress goes to log at info. */
RF_API rf_status rf_quantize_model(const char *in_path, const char *out_path, const char *type, rf_logger *log);

/* ---------------------------------------------------------------------------------------------
   Tokenizer: SPM (llama, gemma), BPE (gpt2, llama3, qwen2, ... pre-tokenizers) and WPM (bert),
   built from a GGUF's tokenizer.ggml.* keys. Read-only once loaded; share it between threads. */

typedef struct rf_tokenizer rf_tokenizer;

enum {
    RF_TOK_ADD_SPECIAL = 1,    /* tokenize: add BOS/EOS as the vocab's add_bos/add_eos say */
    RF_TOK_PARSE_SPECIAL = 2,  /* tokenize: control-token text like "<|im_start|>" becomes its
                                  token (user-defined tokens always match, as in llama.cpp) */
    RF_TOK_RENDER_SPECIAL = 4  /* detokenize: print control tokens' text instead of nothing */
};

RF_API rf_status rf_tokenizer_load(const rf_gguf *g, rf_tokenizer **out);
RF_API void rf_tokenizer_free(rf_tokenizer *t);
RF_API int32_t rf_tokenizer_n_vocab(const rf_tokenizer *t);
RF_API int32_t rf_tokenizer_bos(const rf_tokenizer *t);      /* -1 if none */
RF_API int32_t rf_tokenizer_eos(const rf_tokenizer *t);      /* -1 if none */
RF_API int rf_tokenizer_is_eog(const rf_tokenizer *t, int32_t id);  /* end of generation: eos, eot, ... */
/* Token ids of text[0..len). Writes at most cap ids; *n_out is the full count (call again with a
   bigger buffer when *n_out > cap, the status is then RF_ERR_TOO_LARGE). */
RF_API rf_status rf_tokenize(const rf_tokenizer *t, const char *text, size_t len, unsigned flags,
                             int32_t *out, size_t cap, size_t *n_out);
/* The text of one token (byte tokens give their byte; SPM's U+2581 gives a space). Writes at
   most cap bytes, no NUL; *n_out is the full length (RF_ERR_TOO_LARGE when it did not fit). */
RF_API rf_status rf_token_to_piece(const rf_tokenizer *t, int32_t id, unsigned flags, char *buf,
                                   size_t cap, size_t *n_out);
/* The text of a sequence (handles SPM's leading space after BOS, WPM's "##"), same buffer rules. */
RF_API rf_status rf_detokenize(const rf_tokenizer *t, const int32_t *ids, size_t n, unsigned flags,
                               char *buf, size_t cap, size_t *n_out);

/* ---------------------------------------------------------------------------------------------
   Chat templates: the formats of tokenizer.chat_template that rocmforge recognises, rendered
   exactly as the template would render them; no general Jinja engine. */

typedef enum rf_chat_format {
    RF_CHAT_UNKNOWN = 0, RF_CHAT_CHATML, RF_CHAT_LLAMA2, RF_CHAT_LLAMA3, RF_CHAT_MISTRAL,
    RF_CHAT_GEMMA, RF_CHAT_PHI3, RF_CHAT_FORMAT_COUNT
} rf_chat_format;

typedef struct rf_chat_msg {
    const char *role;     /* "system", "user", "assistant" */
    const char *content;
} rf_chat_msg;

/* The format of a template source (NULL or unrecognised: RF_CHAT_UNKNOWN; callers fall back to
   chatml with a warning). */
RF_API rf_chat_format rf_chat_detect(const char *tmpl, size_t len);
RF_API const char *rf_chat_format_name(rf_chat_format f);
/* Render messages as the prompt text; add_assistant opens the assistant's turn. bos/eos are the
   vocab's token texts (templates that spell them out use them). Buffer rules as rf_detokenize. */
RF_API rf_status rf_chat_render(rf_chat_format f, const rf_chat_msg *msgs, size_t n, int add_assistant,
                                const char *bos, const char *eos, char *buf, size_t cap, size_t *n_out);

/* ---------------------------------------------------------------------------------------------
   Sampler: a fixed chain -- logit bias, penalties (repeat, presence, frequency) over the last
   penalty_last_n accepted tokens, then greedy if temperature <= 0, else top-k, typical-p, top-p,
   min-p, temperature, and a draw from the seeded RNG. Same seed + same logits = same tokens. */

typedef struct rf_logit_bias { int32_t token; float bias; } rf_logit_bias;

typedef struct rf_sampler_params {
    float temperature;        /* <= 0: greedy (argmax; ties to the lowest id) */
    int32_t top_k;            /* <= 0: off */
    float top_p;              /* >= 1: off */
    float min_p;              /* <= 0: off */
    float typical_p;          /* >= 1: off */
    float repeat_penalty;     /* 1: off; logits > 0 are divided by it, < 0 multiplied */
    float presence_penalty;   /* 0: off; subtracted once from every token seen */
    float frequency_penalty;  /* 0: off; subtracted once per occurrence */
    int32_t penalty_last_n;   /* window of accepted tokens the penalties look at */
    uint64_t seed;
    const rf_logit_bias *logit_bias;  /* copied by rf_sampler_new */
    size_t n_logit_bias;
} rf_sampler_params;

typedef struct rf_sampler rf_sampler;

/* The documented default chain: temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, typical_p 1,
   repeat_penalty 1, presence/frequency 0, penalty_last_n 64, seed 0xC0FFEE. */
RF_API rf_sampler_params rf_sampler_default_params(void);
RF_API rf_status rf_sampler_new(const rf_sampler_params *p, int32_t n_vocab, rf_sampler **out);
RF_API void rf_sampler_free(rf_sampler *s);
/* Pick a token from n_vocab logits (not modified). NaN logits count as -inf, +inf as the largest
   float. If every logit is -inf after bias and penalties, *out is 0 and the status is
   RF_ERR_INVALID_ARG. penalty_last_n: 0 turns penalties off, < 0 means every token since reset. */
RF_API rf_status rf_sampler_sample(rf_sampler *s, const float *logits, int32_t *out);
/* Record a token (prompt or generated) in the penalty window. */
RF_API void rf_sampler_accept(rf_sampler *s, int32_t token);
RF_API void rf_sampler_reset(rf_sampler *s);  /* clear the window; the RNG is reseeded */

/* Stop strings over streamed text: *stop_at is the offset of the first stop string found in
   text[0..len) (or len if none); *safe_len is how much of the text can be shown now -- up to a
   stop, and short of a tail that may be the start of a stop string. */
RF_API void rf_stop_scan(const char *const *stops, size_t n_stops, const char *text, size_t len,
                         size_t *stop_at, size_t *safe_len);

/* ---------------------------------------------------------------------------------------------
   Models and contexts. An rf_model is read-only weights + hyperparameters + tokenizer, loaded
   once and shared by threads; an rf_ctx is one inference session (KV cache, scratch, position). */

typedef struct rf_model rf_model;
#define RF_GPU_LAYERS_ALL (-1)  /* n_gpu_layers: every layer, and the embedding and output head */
#define RF_GPU_LAYERS_AUTO (-2) /* n_gpu_layers: as many layers as fit the GPU's free memory */

typedef struct rf_model_params {
    unsigned gguf_flags;   /* RF_GGUF_NO_MMAP */
    rf_logger *log;        /* NULL: the default logger */
    /* Layers on the GPU (builds with ROCMFORGE_HIP; otherwise a warning and the CPU). 0: the CPU.
       N: the last N layers on the GPU, the others on the CPU (llama.cpp's -ngl); the output head
       goes on the GPU when every layer does. RF_GPU_LAYERS_ALL (or any N >= the layer count, or
       another negative value): every layer. RF_GPU_LAYERS_AUTO: as many as fit the free GPU
       memory with their KV cache for n_ctx positions and a context's scratch, less a margin
       (the environment variable RF_GPU_VRAM_BUDGET, bytes or with K/M/G, caps it). A layer with
       a tensor type the GPU has no kernel for stays on the CPU; no GPU, or no room for the
       weights, means fewer layers or the CPU, with a warning -- never a failed load. */
    int32_t n_gpu_layers;
    int32_t gpu_device;    /* which GPU (0: the first) */
    int32_t n_ctx;         /* the context RF_GPU_LAYERS_AUTO reserves KV cache for (0: rf_ctx_new's default) */
    int32_t moe_cpu;       /* 1: MoE expert matrices (and routers) stay in host memory and the CPU
                              runs the expert FFN of GPU layers; their attention stays on the GPU */
} rf_model_params;

RF_API rf_status rf_model_load(const char *path, const rf_model_params *p, rf_model **out);

/* Where rf_model_load put the model's work (every field 0 for a CPU-only model). The GPU bytes
   are what its weights take, and what each context's KV cache (n_ctx positions) and scratch
   take there; budget is what RF_GPU_LAYERS_AUTO fitted them into (0: no fit). */
typedef struct rf_gpu_plan {
    int32_t n_layer;          /* the model's layers */
    int32_t n_gpu_layers;     /* how many the GPU runs */
    int32_t first_gpu_layer;  /* the lowest of them (-1: none); the GPU runs [first, n_layer) less
                                 the layers it has no kernel for */
    int32_t io_on_gpu;        /* embedding and output head on the GPU */
    int32_t moe_cpu;          /* expert FFNs on the CPU */
    int32_t n_ctx;            /* the context the KV bytes are for */
    uint64_t gpu_weight_bytes, gpu_kv_bytes, gpu_scratch_bytes, cpu_weight_bytes, budget;
} rf_gpu_plan;
RF_API void rf_model_gpu_plan(const rf_model *m, rf_gpu_plan *out);
RF_API void rf_model_free(rf_model *m);
RF_API const rf_tokenizer *rf_model_tokenizer(const rf_model *m);
RF_API const rf_gguf *rf_model_gguf(const rf_model *m);
RF_API const char *rf_model_arch(const rf_model *m);
RF_API int32_t rf_model_n_vocab(const rf_model *m);
RF_API int32_t rf_model_n_ctx_train(const rf_model *m);
/* The chat format from tokenizer.chat_template, or from the architecture when there is none. */
RF_API rf_chat_format rf_model_chat_format(const rf_model *m);

typedef struct rf_ctx rf_ctx;
typedef enum rf_kv_type {
    RF_KV_F16 = 0,  /* default: half the memory of f32, what llama.cpp keeps too */
    RF_KV_Q8_0,     /* a quarter of f32; needs n_kv_heads * head_dim to be whole 32-blocks */
    RF_KV_F32       /* exact: for comparisons against float references */
} rf_kv_type;
/* A pool of KV-cache pages shared by contexts of one model (the server's slots): a context made
   with one holds pages of RF_KV_PAGE positions only as it grows into them, and gives them back
   when truncated or freed, so N contexts need memory for the positions they use, not N x n_ctx.
   Pages are allocated when first taken (at most n_positions / RF_KV_PAGE of them) and kept for
   reuse. When none is left, rf_ctx_decode fails with RF_ERR_OOM and runs nothing. A context
   made without a pool owns a private one, allocated up front for its n_ctx positions. Free the
   pool after every context using it. */
#define RF_KV_PAGE 32
typedef struct rf_kv_pool rf_kv_pool;
typedef struct rf_kv_pool_stats {
    int32_t page_positions;   /* RF_KV_PAGE */
    int64_t page_bytes;       /* k and v of every layer for RF_KV_PAGE positions */
    int32_t pages_total;      /* the budget */
    int32_t pages_allocated;  /* allocated so far: the memory the pool holds */
    int32_t pages_used;       /* of those, held by contexts now */
} rf_kv_pool_stats;
RF_API rf_status rf_kv_pool_new(const rf_model *m, rf_kv_type kv_type, int64_t n_positions, rf_kv_pool **out);
RF_API void rf_kv_pool_free(rf_kv_pool *p);
RF_API rf_kv_pool_stats rf_kv_pool_stats_of(rf_kv_pool *p);

typedef struct rf_ctx_params {
    int32_t n_ctx;       /* 0: the model's training context, at most 4096 */
    rf_kv_type kv_type;  /* with kv_pool: must be the pool's */
    rf_kv_pool *kv_pool; /* NULL: a private cache for n_ctx positions, allocated up front */
    int32_t n_threads;   /* 0: one per core */
    /* CPU kernels: NULL or "": the best this CPU runs (detected at run time); "scalar" (the
       reference), "avx2", "avx512-vnni", "neon", "neon-dotprod" to ask for one -- rf_ctx_new
       fails with RF_ERR_UNSUPPORTED when the CPU or the build (RF_NO_SIMD) lacks it. */
    const char *cpu_kernels;
} rf_ctx_params;

RF_API rf_status rf_ctx_new(const rf_model *m, const rf_ctx_params *p, rf_ctx **out);
RF_API void rf_ctx_free(rf_ctx *c);
/* Append n tokens at the current position and run them; then rf_ctx_logits() holds the next-token
   logits after the last one. RF_ERR_TOO_LARGE when the context would overflow (nothing is run). */
RF_API rf_status rf_ctx_decode(rf_ctx *c, const int32_t *tokens, int32_t n);
/* One new token for each of n distinct contexts of one model, run as one batch: every weight is
   read once for all of them (the server's decode step); attention reads each context's own cache
   at its own position. Afterwards each context is as rf_ctx_decode(ctxs[i], &tokens[i], 1) would
   leave it (logits equal up to float summation order in the SIMD matmul kernels). The batch
   computes with the threads and kernels of the context with the largest n_ctx. Fails (running
   nothing) when an argument is bad, a context is full (RF_ERR_TOO_LARGE) or the KV pool has no
   page left (RF_ERR_OOM: see rf_ctx_reserve). GPU contexts decode one by one. */
RF_API rf_status rf_ctx_decode_batch(rf_ctx **ctxs, const int32_t *tokens, int32_t n);
/* Make sure the cache holds pages for n_positions positions (taking them from the pool now):
   RF_ERR_OOM when the pool has run out, RF_ERR_TOO_LARGE past n_ctx. */
RF_API rf_status rf_ctx_reserve(rf_ctx *c, int32_t n_positions);
/* Bytes of KV cache the context holds now (its pages). */
RF_API int64_t rf_ctx_kv_bytes(const rf_ctx *c);
RF_API const float *rf_ctx_logits(const rf_ctx *c);  /* n_vocab floats */
/* rf_ctx_decode, then *out = the token rf_sampler_sample(s, logits) picks (s is not given the token:
   call rf_sampler_accept as after rf_sampler_sample). On a context whose model is on the GPU the
   chain runs on the device and only the token id is copied back -- the logits stay there, so
   rf_ctx_logits is not updated -- when the sampler has no logit bias, no active penalties and no
   typical-p, and is greedy or has top_k in 1..256; otherwise, and on the CPU, it is rf_ctx_decode +
   rf_sampler_sample. Same seed, same logits: the same tokens either way. n >= 1; out may point at
   tokens[0] (it is written after the decode; 0 on an error). */
RF_API rf_status rf_ctx_decode_sample(rf_ctx *c, const int32_t *tokens, int32_t n, rf_sampler *s, int32_t *out);
RF_API int32_t rf_ctx_pos(const rf_ctx *c);          /* tokens in the cache */
RF_API int32_t rf_ctx_n_ctx(const rf_ctx *c);
RF_API rf_status rf_ctx_truncate(rf_ctx *c, int32_t pos);  /* forget positions >= pos */
RF_API const char *rf_ctx_cpu_kernels(const rf_ctx *c);
/* Seconds this context's forward passes spent on each device since it was made: the GPU's
   include moving activations across and waiting for it; the CPU's, its layers, embedding and
   output head where it runs them. */
RF_API void rf_ctx_device_seconds(const rf_ctx *c, double *cpu_s, double *gpu_s);   /* the kernel path it computes with */

/* The CPU as the library sees it: architecture, features, the kernel paths it can run and the one
   a context picks by default, as "key: value" lines. Writes at most n bytes (NUL included);
   returns the length written. */
RF_API size_t rf_cpu_describe(char *buf, size_t n);
/* A streaming read of `bytes` (much larger than the caches) by n_threads threads (0: one per
   core); the best of `reps` passes in GB/s -- the ceiling for memory-bound token generation. */
RF_API double rf_cpu_read_bandwidth(int n_threads, uint64_t bytes, int reps);
/* The same on GPU `device`: a streaming read of `bytes` of its memory, the best of `reps` passes
   in GB/s. RF_ERR_UNSUPPORTED in a build without ROCMFORGE_HIP, RF_ERR_DEVICE without a GPU. */
RF_API rf_status rf_gpu_read_bandwidth(int32_t device, uint64_t bytes, int reps, double *gb_per_s);

/* ---------------------------------------------------------------------------------------------
   Generation: the loop the CLI and the server share -- prompt text -> tokens (reusing the prefix
   already in the context's cache) -> prefill -> sample / decode -> text pieces, streamed through
   a callback as soon as they are whole UTF-8 and cannot be the start of a stop string. */

typedef int (*rf_piece_fn)(void *user, const char *text, size_t len);  /* return nonzero to stop */

typedef enum rf_stop_reason {
    RF_STOP_NONE = 0, RF_STOP_EOG, RF_STOP_LENGTH, RF_STOP_STRING, RF_STOP_CALLBACK, RF_STOP_CONTEXT
} rf_stop_reason;

typedef struct rf_gen_params {
    int32_t max_tokens;        /* 0: until end of generation or a full context */
    const char *const *stop;   /* stop strings; the text stops before them */
    size_t n_stop;
    int no_add_special;        /* 1: no BOS/EOS added (a chat-rendered prompt carries its own) */
    int parse_special;         /* 1: special-token text in the prompt becomes special tokens */
    rf_piece_fn on_piece;      /* NULL: nothing streamed */
    void *user;
} rf_gen_params;

typedef struct rf_gen_result {
    int32_t n_prompt;          /* prompt tokens */
    int32_t n_reused;          /* of those, already in the cache (not recomputed) */
    int32_t n_gen;             /* generated tokens */
    double prompt_s, gen_s;    /* seconds for the prefill and for the generation */
    rf_stop_reason stop;
} rf_gen_result;

RF_API rf_status rf_generate(rf_ctx *c, rf_sampler *s, const char *prompt, size_t len,
                             const rf_gen_params *p, rf_gen_result *r);
/* The tokens in the context's cache, oldest first (*n of them). */
RF_API const int32_t *rf_ctx_tokens(const rf_ctx *c, int32_t *n);

/* The same loop one step at a time, for callers that interleave many generations (the server
   advances each of its slots by one step per round). rf_gen_begin tokenizes the prompt and finds
   the cached prefix; each rf_gen_step runs the prefill (the first step) or one generated token
   and streams through on_piece; the generation is over when rf_gen_result_of(g)->stop is set
   (or a step fails). rf_gen_end frees it (any time: ending early cancels) and gives the result. */
typedef struct rf_gen rf_gen;
RF_API rf_status rf_gen_begin(rf_ctx *c, rf_sampler *s, const char *prompt, size_t len,
                              const rf_gen_params *p, rf_gen **out);
RF_API rf_status rf_gen_step(rf_gen *g);
RF_API const rf_gen_result *rf_gen_result_of(const rf_gen *g);  /* counts so far; stop when over */
RF_API void rf_gen_end(rf_gen *g, rf_gen_result *r);             /* r may be NULL; g may be NULL */
/* The token step in two halves, for callers that decode many generations' tokens as one batch
   (the server: rf_ctx_decode_batch). Once rf_gen_prefilled(g), rf_gen_step(g) is
   rf_gen_sample(g, &t) -- sample, stream, t = the token to decode next or -1 when the generation
   is over -- then rf_ctx_decode(context, &t, 1). rf_gen_stop ends a generation early with a
   reason (e.g. RF_STOP_LENGTH when its decode found the KV pool empty). */
RF_API int rf_gen_prefilled(const rf_gen *g);
RF_API rf_status rf_gen_sample(rf_gen *g, int32_t *next);
RF_API void rf_gen_stop(rf_gen *g, rf_stop_reason why);

/* ---------------------------------------------------------------------------------------------
   JSON (RFC 8259), the reader and writer the server uses; bounded and non-throwing. A parsed
   document is a read-only tree of nodes named by index: the root is node 0, -1 is "none" (every
   accessor accepts it and answers RF_JSON_NONE / 0 / NULL / -1). Strings are decoded, valid
   UTF-8 and NUL-terminated (a \u0000 escape is rejected). */

typedef enum rf_json_type {
    RF_JSON_NONE = 0, RF_JSON_NULL, RF_JSON_FALSE, RF_JSON_TRUE, RF_JSON_NUMBER, RF_JSON_STRING,
    RF_JSON_ARRAY, RF_JSON_OBJECT
} rf_json_type;

typedef struct rf_json rf_json;
typedef struct rf_json_limits {
    int32_t max_depth;   /* nesting of arrays/objects (default 64, at most 256) */
    size_t max_nodes;    /* values, keys included (default 2^20) */
    size_t max_string;   /* decoded bytes of one string (default 2^24) */
} rf_json_limits;

RF_API rf_json_limits rf_json_default_limits(void);
/* RF_ERR_BAD_STRING (with the byte offset in rf_last_error) for text that is not JSON or not
   UTF-8, RF_ERR_TOO_LARGE past a limit. lim NULL: the defaults. */
RF_API rf_status rf_json_parse(const char *text, size_t len, const rf_json_limits *lim, rf_json **out);
RF_API void rf_json_free(rf_json *j);
RF_API rf_json_type rf_json_type_of(const rf_json *j, int32_t node);
RF_API int32_t rf_json_len(const rf_json *j, int32_t node);     /* elements, members, or string bytes */
RF_API int32_t rf_json_at(const rf_json *j, int32_t node, int32_t i);  /* i-th element / member value */
RF_API const char *rf_json_key(const rf_json *j, int32_t obj, int32_t i);  /* i-th member's key */
RF_API int32_t rf_json_get(const rf_json *j, int32_t obj, const char *key);  /* last duplicate wins */
RF_API const char *rf_json_str(const rf_json *j, int32_t node, size_t *len); /* NULL, *len = 0: not a string */
RF_API double rf_json_num(const rf_json *j, int32_t node);
/* s[0..n) as a quoted JSON string: ", \\ and control characters escaped, invalid UTF-8 bytes
   replaced by U+FFFD. Buffer rules as rf_detokenize. */
RF_API rf_status rf_json_escape(const char *s, size_t n, char *buf, size_t cap, size_t *n_out);

#ifdef ROCMFORGE_HTTP
/* ---------------------------------------------------------------------------------------------
   The built-in OpenAI-compatible HTTP/1.1 server (define ROCMFORGE_HTTP; POSIX sockets, no other
   dependency). POST /v1/chat/completions and /v1/completions (stream: true as Server-Sent
   Events), GET /v1/models, POST /tokenize /detokenize, GET /health /ready /metrics /traces.
   Zero fields take the defaults in brackets. */
#include <signal.h>

typedef struct rf_server_params {
    const char *model_path;
    const char *model_id;       /* the name in /v1/models [the file name] */
    const char *host;           /* ["127.0.0.1"]: loopback unless asked otherwise */
    int port;                   /* [8080] */
    int n_parallel;             /* slots, each with its own context [1] */
    int max_queue;              /* requests waiting for a slot; more get 503 [4 x slots] */
    int max_conns;              /* open connections [256] */
    size_t max_header;          /* bytes of request line + headers [16 KiB] */
    size_t max_body;            /* bytes of a request body [1 MiB] */
    int32_t max_json_depth;     /* [64] */
    double request_timeout_s;   /* a request must arrive within this [30] */
    double idle_timeout_s;      /* keep-alive connections close after this [60] */
    double drain_timeout_s;     /* on shutdown, running requests get this long to finish [5] */
    const char *api_key;        /* when set, every endpoint but /health and /ready needs
                                   "Authorization: Bearer <api_key>" */
    rf_ctx_params ctx;          /* per slot (kv_pool: the server makes one the slots share) */
    int64_t kv_size;            /* KV positions for all slots together, allocated as used
                                   [n_parallel x n_ctx]; fewer: a slot that finds none left
                                   ends with finish_reason "length" (503 before its first token) */
    int32_t default_max_tokens; /* when a request names none [0: until the context is full] */
    int n_traces;               /* requests kept for /traces [64] */
    rf_logger *log;
} rf_server_params;

/* Load the model (while answering /health, and /ready with 503) and serve until *stop becomes
   nonzero (a signal handler may set it); then stop accepting, let running requests finish for
   drain_timeout_s, cancel the rest, and free everything. */
RF_API rf_status rf_server_run(const rf_server_params *p, const volatile sig_atomic_t *stop);
#endif

#ifdef __cplusplus
}
#endif
#endif /* ROCMFORGE_H */
