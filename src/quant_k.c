/* quant_k: not written yet. */
