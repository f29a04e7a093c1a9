/* sample: not written yet. */
