/* chat_tool: the C side of tests/test_chat.py.

       chat_tool detect                          stdin: a template source; prints the format name
       chat_tool render FORMAT GEN BOS EOS       stdin: role NUL content NUL ...; prints the prompt

   FORMAT is a name from rf_chat_format_name ("chatml", ...), GEN is 0 or 1. A failed render
   prints "error STATUS: detail" on stderr and exits 2. Every render also checks the buffer
   protocol (cap 0, a half-size buffer with a canary, the full buffer) and exits 3 if it is
   broken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rocmforge.h"

static char *read_all(FILE *f, size_t *len) {
    size_t cap = 1 << 16, n = 0, got;
    char *buf = (char *)malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = (char *)realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

/* Renders, checking the buffer protocol on the way; returns the exit code. */
static int render_msgs(rf_chat_format f, const rf_chat_msg *msgs, size_t n, int gen, char **argv,
                       char *half, char *out, size_t full) {
    size_t half_n = 0, len = 0;
    rf_status st;
    /* Half the length: the first half written, nothing past it (canary). */
    half[full / 2] = 'Z';
    st = rf_chat_render(f, msgs, n, gen, argv[4], argv[5], half, full / 2, &half_n);
    if (half_n != full || half[full / 2] != 'Z' || (full / 2 < full && st != RF_ERR_TOO_LARGE)) return 3;
    st = rf_chat_render(f, msgs, n, gen, argv[4], argv[5], out, full, &len);
    if (st != RF_OK || len != full || memcmp(out, half, full / 2) != 0) return 3;
    fwrite(out, 1, full, stdout);
    return 0;
}

static int render(int argc, char **argv) {
    size_t len, n = 0, i, full = 0;
    char *in, *out = NULL, *half = NULL;
    rf_chat_msg *msgs;
    rf_chat_format f = RF_CHAT_UNKNOWN;
    rf_status st;
    int k, gen, rc;
    if (argc != 6) return 1;
    for (k = 0; k < RF_CHAT_FORMAT_COUNT; k++)
        if (strcmp(argv[2], rf_chat_format_name((rf_chat_format)k)) == 0) f = (rf_chat_format)k;
    gen = atoi(argv[3]);
    in = read_all(stdin, &len);
    if (!in) return 1;
    /* Split "role\0content\0role\0content\0..." into messages. */
    msgs = (rf_chat_msg *)calloc(len / 2 + 1, sizeof(rf_chat_msg));
    if (!msgs) {
        free(in);
        return 1;
    }
    for (i = 0; i < len;) {
        msgs[n].role = in + i;
        i += strlen(in + i) + 1;
        if (i >= len) break;
        msgs[n].content = in + i;
        i += strlen(in + i) + 1;
        n++;
    }
    st = rf_chat_render(f, msgs, n, gen, argv[4], argv[5], NULL, 0, &full);
    if (st != RF_OK && st != RF_ERR_TOO_LARGE) {
        fprintf(stderr, "error %s: %s\n", rf_status_str(st), rf_last_error());
        rc = 2;
    } else if ((full > 0) != (st == RF_ERR_TOO_LARGE)) {
        rc = 3;
    } else {
        half = (char *)malloc(full / 2 + 1);
        out = (char *)malloc(full + 1);
        rc = half && out ? render_msgs(f, msgs, n, gen, argv, half, out, full) : 1;
    }
    free(in);
    free(msgs);
    free(half);
    free(out);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "detect") == 0) {
        size_t len;
        char *t = read_all(stdin, &len);
        if (!t) return 1;
        printf("%s\n", rf_chat_format_name(rf_chat_detect(t, len)));
        free(t);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "render") == 0) return render(argc, argv);
    fprintf(stderr, "usage: chat_tool detect | render FORMAT GEN BOS EOS\n");
    return 1;
}
