/* Fuzz target body: chat templates. rf_chat_detect on the whole input as template text, then
   rf_chat_render of messages cut from the input:
       byte 0  format (mod RF_CHAT_FORMAT_COUNT)      byte 1  bit 0: add_assistant
       then fields separated by 0x01: bos, eos, and one field per message whose first byte
       picks the role (system, user, assistant, or the field itself as an arbitrary role).
   The render is checked for the buffer protocol: a size query, the exact buffer, and a short
   buffer all give the same length and the same bytes. Shared by tests/fuzz/fuzz_chat.c
   (libFuzzer) and tests/test_fuzz_replay.c (make test). */
#ifndef RF_FUZZ_CHAT_H
#define RF_FUZZ_CHAT_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

#define RFF_CHAT_MAX_MSGS 64

static int rf_fuzz_chat(const uint8_t *data, size_t size) {
    static const char *const roles[] = {"system", "user", "assistant"};
    rf_chat_msg msgs[RFF_CHAT_MAX_MSGS];
    const char *fields[RFF_CHAT_MAX_MSGS + 2];
    size_t nf = 0, nm = 0, i, n = 0, n2 = 0, n3 = 0;
    char *copy, *p, *end, *out, *out2;
    rf_chat_format f = rf_chat_detect((const char *)data, size);
    rf_status st;
    rff_check((int)f >= 0 && f < RF_CHAT_FORMAT_COUNT);
    rff_check(rf_chat_format_name(f) != NULL);
    if (size < 2) return 0;
    f = (rf_chat_format)(data[0] % RF_CHAT_FORMAT_COUNT);
    copy = (char *)malloc(size - 2 + 1);
    rff_check(copy != NULL);
    memcpy(copy, data + 2, size - 2);
    copy[size - 2] = 0;
    end = copy + (size - 2);
    for (p = copy; nf < RFF_CHAT_MAX_MSGS + 2;) {
        char *sep = (char *)memchr(p, 1, (size_t)(end - p));
        fields[nf++] = p;
        if (!sep) break;
        *sep = 0;
        p = sep + 1;
    }
    for (i = 2; i < nf; i++) {
        unsigned r = (unsigned char)fields[i][0];
        msgs[nm].role = r % 4 < 3 ? roles[r % 4] : fields[i];
        msgs[nm].content = fields[i][0] ? fields[i] + 1 : fields[i];
        nm++;
    }
    st = rf_chat_render(f, msgs, nm, data[1] & 1, nf > 0 ? fields[0] : NULL, nf > 1 ? fields[1] : NULL, NULL, 0, &n);
    if (st != RF_OK && st != RF_ERR_TOO_LARGE) { /* a template's raise_exception */
        rff_check(st == RF_ERR_INVALID_ARG && n == 0);
        free(copy);
        return 0;
    }
    rff_check((st == RF_ERR_TOO_LARGE) == (n > 0));
    out = (char *)malloc(n + 1);
    out2 = (char *)malloc(n / 2 + 1);
    rff_check(out && out2);
    st = rf_chat_render(f, msgs, nm, data[1] & 1, nf > 0 ? fields[0] : NULL, nf > 1 ? fields[1] : NULL, out, n, &n2);
    rff_check(st == RF_OK && n2 == n);
    st = rf_chat_render(f, msgs, nm, data[1] & 1, nf > 0 ? fields[0] : NULL, nf > 1 ? fields[1] : NULL, out2, n / 2, &n3);
    rff_check(n3 == n && (n / 2 == n ? st == RF_OK : st == RF_ERR_TOO_LARGE));
    rff_check(memcmp(out, out2, n / 2) == 0);
    /* each message adds at most its role, content, bos, eos and ~40 bytes of markers */
    rff_check(n <= (nm + 2) * (size + 64));
    free(out);
    free(out2);
    free(copy);
    return 0;
}
#endif
