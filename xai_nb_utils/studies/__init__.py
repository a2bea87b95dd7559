"""Study code of the notebooks: one module per notebook (its paper tables, table builders, figures) and ``common``."""
