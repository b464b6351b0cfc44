"""Infrastructure: the embedded stack (Apache Kafka or tansu, and redis-server) and deployment manifests."""
