/* chat: not written yet. */
