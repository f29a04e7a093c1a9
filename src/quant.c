/* quant: not written yet. */
