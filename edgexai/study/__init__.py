"""Study layer: the measurements over builds — explanation jobs, the regime bench and its report,
the regime matrix. May import every layer below it (core, train, deploy)."""
