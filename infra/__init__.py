"""Infrastructure: the embedded development stack (tansu + redis-server) and deployment manifests."""
