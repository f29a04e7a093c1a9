/* OpenAI endpoints (in progress). */
