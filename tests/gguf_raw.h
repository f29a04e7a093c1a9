/* Builds GGUF bytes by hand, for tests that need values the writer API has no setter for
   (u8/i8/u16/i16/i64/f64 scalars, nested arrays): build them here, open the bytes with
   rf_gguf_open_memory, and copy them into a writer with rf_gguf_writer_copy_kv.
   Little-endian host assumed, like the library. Out of memory aborts: this is test code. */
#ifndef GGUF_RAW_H
#define GGUF_RAW_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not every includer uses every helper. */
#if defined(__GNUC__) || defined(__clang__)
#define RB_FN static __attribute__((unused))
#else
#define RB_FN static
#endif

typedef struct rb_buf {
    unsigned char *p;
    size_t n, cap;
} rb_buf;

RB_FN void rb_put(rb_buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = (unsigned char *)realloc(b->p, cap);
        if (!b->p) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, p, n);
    b->n += n;
}
RB_FN void rb_u8(rb_buf *b, uint8_t v) { rb_put(b, &v, 1); }
RB_FN void rb_u16(rb_buf *b, uint16_t v) { rb_put(b, &v, 2); }
RB_FN void rb_u32(rb_buf *b, uint32_t v) { rb_put(b, &v, 4); }
RB_FN void rb_u64(rb_buf *b, uint64_t v) { rb_put(b, &v, 8); }
RB_FN void rb_f32(rb_buf *b, float v) { rb_put(b, &v, 4); }
RB_FN void rb_f64(rb_buf *b, double v) { rb_put(b, &v, 8); }
RB_FN void rb_str(rb_buf *b, const char *s) {
    rb_u64(b, strlen(s));
    rb_put(b, s, strlen(s));
}
/* "GGUF", version 3, counts. */
RB_FN void rb_header(rb_buf *b, uint64_t n_tensors, uint64_t n_kv) {
    rb_put(b, "GGUF", 4);
    rb_u32(b, 3);
    rb_u64(b, n_tensors);
    rb_u64(b, n_kv);
}
/* A kv's key and value type; the caller appends the value. */
RB_FN void rb_kv(rb_buf *b, const char *key, uint32_t type) {
    rb_str(b, key);
    rb_u32(b, type);
}
/* An array header (element type, count); the caller appends the elements. */
RB_FN void rb_arr(rb_buf *b, uint32_t elem_type, uint64_t n) {
    rb_u32(b, elem_type);
    rb_u64(b, n);
}
#endif
