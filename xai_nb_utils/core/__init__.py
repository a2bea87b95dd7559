"""Infrastructure every other part uses: paths, atomic caches, results, parameters, tensor conventions.

Nothing in ``core`` imports the rest of the package."""
