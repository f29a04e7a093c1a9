/* quant_tool: the scalar quant kernels on files, for tests/test_quant_ref.py. Public API only.
       quant_tool dequant TYPE in.bin out.f32    blocks of TYPE -> little-endian float32
       quant_tool quant   TYPE in.f32 out.bin    float32 -> blocks of TYPE
   TYPE is a ggml type name (q4_0, q4_K, iq4_xs, f16, ...). Exit status 0 on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rocmforge.h"

/* Whole file into memory; NULL on failure. */
static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long len;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (unsigned char *)malloc((size_t)len + 1);
        if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
        *size = (size_t)len;
    }
    fclose(f);
    return buf;
}

static int write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

int main(int argc, char **argv) {
    rf_type type;
    const rf_type_traits *t;
    unsigned char *in, *out;
    size_t in_size, out_size;
    int64_t n;
    rf_status s;
    int dequant;
    if (argc != 5 || (strcmp(argv[1], "dequant") != 0 && strcmp(argv[1], "quant") != 0)) {
        fprintf(stderr, "usage: quant_tool dequant|quant TYPE in out\n");
        return 2;
    }
    dequant = strcmp(argv[1], "dequant") == 0;
    if (!rf_type_from_name(argv[2], &type) || !(t = rf_type_get((uint32_t)type))) {
        fprintf(stderr, "quant_tool: unknown type %s\n", argv[2]);
        return 2;
    }
    if (!(in = read_file(argv[3], &in_size))) {
        fprintf(stderr, "quant_tool: cannot read %s\n", argv[3]);
        return 1;
    }
    if (dequant) {
        if (in_size % (size_t)t->type_size) {
            fprintf(stderr, "quant_tool: %s: %zu bytes is not whole %s blocks\n", argv[3], in_size, t->name);
            free(in);
            return 1;
        }
        n = (int64_t)(in_size / (size_t)t->type_size) * t->block_size;
        out_size = (size_t)n * sizeof(float);
    } else {
        n = (int64_t)(in_size / sizeof(float));
        out_size = (size_t)(n / t->block_size) * (size_t)t->type_size;
    }
    out = (unsigned char *)malloc(out_size + 1);
    s = !out ? RF_ERR_OOM
             : dequant ? rf_dequantize(type, in, (float *)(void *)out, n)
                       : rf_quantize(type, (const float *)(const void *)in, out, n);
    if (s == RF_OK && !write_file(argv[4], out, out_size)) {
        fprintf(stderr, "quant_tool: cannot write %s\n", argv[4]);
        s = RF_ERR_IO;
    } else if (s != RF_OK) {
        fprintf(stderr, "quant_tool: %s: %s\n", rf_status_str(s), rf_last_error());
    }
    free(in);
    free(out);
    return s == RF_OK ? 0 : 1;
}
