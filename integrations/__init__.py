"""berxit inside other frameworks' pipelines: Ray Data (`integrations.ray.BerxitPredictor`)."""
