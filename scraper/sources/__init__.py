"""Sources: where posts come from. The base (`SourceSpec`), the kinds named as the config names
them (`html`, `browser`, `api`), the built-in sites (`sites/`, one module each) and the registry
that turns an entry into a source. Nothing is imported here, so reading the sites' entries stays
cheap."""
