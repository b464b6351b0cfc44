"""Policy-aware execution: who may submit, what a principal may read, what is refused and why."""
