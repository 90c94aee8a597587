"""LLM reasoning through any OpenAI-compatible chat endpoint: the prompt template, the client (keys, guard,
pacing) and the parser that turns an answer into the analysis schema or refuses it."""
