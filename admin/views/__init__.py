"""Panel views, one module per area; each exposes `routes(panel)`."""
