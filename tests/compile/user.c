/* Compile check: a TU that sees only the declarations, linked with impl.c. */
#include <stdio.h>
#include "rocmforge.h"

int main(void) {
    const rf_type_traits *t = rf_type_get(RF_TYPE_Q4_K);
    rf_gguf *g = NULL;
    rf_status s = rf_gguf_open("/nonexistent.gguf", &g);
    if (!t || t->block_size != 256 || s != RF_ERR_IO || g != NULL) {
        printf("compile check: unexpected result %s: %s\n", rf_status_str(s), rf_last_error());
        return 1;
    }
    return 0;
}
