// A C call that failed, with the reason llama.cpp (or the plugin) logged.
export class LlamaError extends Error {}
