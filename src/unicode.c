/* unicode: not written yet. */
