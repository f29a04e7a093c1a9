/* synth: not written yet. */
