"""What tests, benchmarks and the demo share; never a dependency of a service."""
