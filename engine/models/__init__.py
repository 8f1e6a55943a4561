"""The models: the sampler protocol, the simulated model, the openai-SDK sampler, prices, and the
factory that builds a sampler from a model's name (the only place that knows the name "sim")."""
