"""loadgen: load against an OpenAI-compatible LLM server (closed or open loop), metered level by level, for
``wattprint serve-bench``."""
