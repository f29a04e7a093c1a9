/* llamacpp_refgen -- llama.cpp's greedy continuation, through its public C API (llama.h), as JSON:
   {"prompt_ids": [...], "steps": [[top1, logit1, top2, logit2], ...]}. Built and run by
   bench/llamacpp_greedy.sh against a llama.cpp built from the llama-cpp-python source package.

   usage: llamacpp_refgen MODEL N_TOKENS PROMPT   (BOS added as the vocab says; whole prompt in one
   batch, then one token per decode, 2 threads) */
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    const char *path = argv[1]; int n_gen = atoi(argv[2]); const char *prompt = argv[3];
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(path, mp);
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int nv = llama_vocab_n_tokens(vocab);
    llama_token toks[1024];
    int n = llama_tokenize(vocab, prompt, (int)strlen(prompt), toks, 1024, 1, 0);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n + n_gen + 8; cp.n_batch = 512; cp.n_threads = 2;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    printf("{\"prompt_ids\": [");
    for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", toks[i]);
    printf("], \"steps\": [");
    struct llama_batch b = llama_batch_get_one(toks, n);
    llama_decode(ctx, b);
    for (int s = 0; s < n_gen; s++) {
        float *lg = llama_get_logits_ith(ctx, -1);
        int b1 = 0, b2 = -1;
        for (int i = 1; i < nv; i++) if (lg[i] > lg[b1]) b1 = i;
        for (int i = 0; i < nv; i++) if (i != b1 && (b2 < 0 || lg[i] > lg[b2])) b2 = i;
        printf("%s[%d,%.5f,%d,%.5f]", s ? "," : "", b1, lg[b1], b2, lg[b2]);
        llama_token t = b1;
        struct llama_batch bb = llama_batch_get_one(&t, 1);
        llama_decode(ctx, bb);
    }
    printf("]}\n");
    return 0;
}
