"""Style engine: image features, style clusters, the recommender and its index artefacts."""
