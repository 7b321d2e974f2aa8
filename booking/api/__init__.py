"""HTTP: routes, SSE encoding, problem details. Nothing below imports it."""
