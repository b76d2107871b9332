"""HTTP routers: one per resource. Each validates at the edge and calls the computation layer."""
