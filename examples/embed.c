/* embed.c -- rocmforge in your own program: load a model, tokenize a prompt, generate with a
   streaming callback, free everything. Build: cc -std=c11 -O2 embed.c -lm -lpthread
   Run:   ./embed model.gguf "Once upon a time" */
#define ROCMFORGE_IMPLEMENTATION /* exactly one file defines this, before other includes */
#include "rocmforge.h"

#include <stdio.h>
#include <string.h>

/* Called with each piece of text as soon as it is whole UTF-8; return nonzero to stop. */
static int on_piece(void *user, const char *text, size_t len) {
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    rf_model *model = NULL;
    rf_ctx *ctx = NULL;
    rf_sampler *sampler = NULL;
    rf_sampler_params sp = rf_sampler_default_params();
    rf_gen_params gp;
    rf_gen_result r;
    int32_t ids[256];
    size_t n_ids = 0;
    rf_status s;

    if (argc < 3) return fprintf(stderr, "usage: %s model.gguf prompt\n", argv[0]), 2;
    s = rf_model_load(argv[1], NULL, &model);
    if (s == RF_OK) s = rf_ctx_new(model, NULL, &ctx);
    sp.seed = 42; /* same seed, same text */
    if (s == RF_OK) s = rf_sampler_new(&sp, rf_model_n_vocab(model), &sampler);
    /* tokenizing is also available on its own: */
    if (s == RF_OK) s = rf_tokenize(rf_model_tokenizer(model), argv[2], strlen(argv[2]), RF_TOK_ADD_SPECIAL, ids, 256, &n_ids);
    if (s == RF_OK) {
        printf("[%zu prompt tokens]\n%s", n_ids, argv[2]);
        memset(&gp, 0, sizeof gp);
        gp.max_tokens = 48;
        gp.on_piece = on_piece;
        s = rf_generate(ctx, sampler, argv[2], strlen(argv[2]), &gp, &r);
        if (s == RF_OK) printf("\n[%d tokens, %.1f tokens/s]\n", r.n_gen, r.n_gen / (r.gen_s > 0 ? r.gen_s : 1));
    }
    if (s != RF_OK) fprintf(stderr, "error: %s: %s\n", rf_status_str(s), rf_last_error());
    rf_sampler_free(sampler); /* each free takes NULL */
    rf_ctx_free(ctx);
    rf_model_free(model);
    return s == RF_OK ? 0 : 1;
}
