/* gguf: not written yet. */
