"""Traffic shaping: the policy file (config), breakers and refusal storms (breaker), and
the shaping state of one process (local); the shared state is adapters/redis.py."""
